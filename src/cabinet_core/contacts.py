"""Contact details and the personal manager («Контактные данные, персональный менеджер, способ связи»).

Rules (DESIGN.md "Settings"): the customer gives a contact name, an e-mail (validated and normalised by
email-validator, no network), a phone (parsed by ``phonenumbers``, Russian numbering by default, stored in
E.164 and shown in national format) and a preferred channel; the personal manager (name, e-mail, phone,
working hours) is assigned by the provider.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from enum import StrEnum
from typing import Any, Final

import attrs
import phonenumbers
from email_validator import EmailNotValidError

from ._time import DEFAULT_TZ, require_aware, zone
from .errors import InvalidInput, InvalidType, UnknownCode
from .forwarding import validate_address

__all__ = [
    "DEFAULT_REGION",
    "Channel",
    "Contacts",
    "Manager",
    "Phone",
    "WorkingHours",
    "normalise_email",
]

DEFAULT_REGION: Final = "RU"
_MAX_PHONE_INPUT: Final = 64  # generous for any written phone number; refuses hostile input cheaply
_MAX_NAME: Final = 200
_DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PHONE_HINT: Final = "write it as +7 916 123-45-67 or 8 (916) 123-45-67"


class Channel(StrEnum):
    """How the customer prefers to be contacted («способ связи»)."""

    EMAIL = "email"
    PHONE = "phone"
    MESSENGER = "messenger"


def _channel(value: object) -> Channel:
    if isinstance(value, Channel):
        return value
    if isinstance(value, str):
        try:
            return Channel(value.strip().lower())
        except ValueError:
            pass
    choices = ", ".join(c.value for c in Channel)
    raise UnknownCode(f"contact channel {value!r} is not known; choose one of: {choices}")


def normalise_email(value: object, what: str = "e-mail") -> str:
    """A validated, normalised e-mail address (no network lookups).

    >>> normalise_email("Ivan.Petrov@Example.COM")
    'Ivan.Petrov@example.com'
    """
    if not isinstance(value, str):
        raise InvalidType(f"{what} must be a string such as 'name@example.ru', got {value!r}")
    try:
        valid = validate_address(value.strip())
    except EmailNotValidError as exc:
        raise InvalidInput(f"{what} {value!r} is not a valid address: {exc}") from None
    return valid.normalized


def _person_name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"name must be a string, got {value!r}")
    name = value.strip()
    if not name or len(name) > _MAX_NAME or any(not c.isprintable() for c in name):
        raise InvalidInput(f"name {value!r} must be 1-{_MAX_NAME} printable characters")
    return name


def _check_region(region: object) -> str:
    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"phone region {region!r} is not a known ISO 3166 country code such as 'RU'")
    return region.upper()


def _parse_phone(value: object, region: str) -> Any:
    if not isinstance(value, str):
        raise InvalidType(f"phone must be a string such as '+7 916 123-45-67', got {value!r}")
    text = value.strip()
    if not text or len(text) > _MAX_PHONE_INPUT:
        raise InvalidInput(f"phone {value!r} is not a phone number; {_PHONE_HINT}")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"phone {value!r} is not a phone number; {_PHONE_HINT}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"phone {value!r} is not a valid number in its country's numbering; {_PHONE_HINT}")
    if number.extension:
        # E.164 has no room for an extension; storing the number without it would silently lose it.
        raise InvalidInput(f"phone {value!r} has an extension, which cannot be stored; give a direct number")
    return number


def _e164(value: object) -> str:
    if isinstance(value, str) and not value.startswith("+"):
        raise InvalidInput(f"phone {value!r} must be in E.164 form such as '+79161234567'; use Phone.parse")
    number = _parse_phone(value, DEFAULT_REGION)
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if e164 != value:
        raise InvalidInput(f"phone {value!r} is not in E.164 form; it would be {e164!r}")
    return e164


@attrs.frozen
class Phone:
    """A phone number stored in E.164 (``+79161234567``); :meth:`parse` reads what a person writes.

    >>> p = Phone.parse("8 (916) 123-45-67")
    >>> p.e164, p.national()
    ('+79161234567', '8 (916) 123-45-67')
    """

    e164: str = attrs.field(converter=_e164)

    @classmethod
    def parse(cls, text: str, region: str = DEFAULT_REGION) -> Phone:
        """Read a number as written; a number without a country code is read in ``region`` (default RU)."""
        number = _parse_phone(text, _check_region(region))
        return cls(str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)))

    def _number(self) -> Any:
        return phonenumbers.parse(self.e164, None)

    @property
    def region(self) -> str:
        """The ISO 3166 country the number belongs to (``RU``)."""
        return str(phonenumbers.region_code_for_number(self._number()))

    def national(self) -> str:
        """National format, as dialled inside the number's own country: ``8 (916) 123-45-67``."""
        return str(phonenumbers.format_number(self._number(), phonenumbers.PhoneNumberFormat.NATIONAL))

    def international(self) -> str:
        """International format: ``+7 916 123-45-67``."""
        return str(phonenumbers.format_number(self._number(), phonenumbers.PhoneNumberFormat.INTERNATIONAL))

    def display(self, region: str = DEFAULT_REGION) -> str:
        """National format for a reader dialling within the number's country code (+7 covers Russia and
        Kazakhstan alike), international format for anyone else."""
        home = phonenumbers.country_code_for_region(_check_region(region))
        return self.national() if self._number().country_code == home else self.international()

    def __str__(self) -> str:
        return self.e164


def _phone(value: object) -> Phone:
    if isinstance(value, Phone):
        return value
    if isinstance(value, str):
        return Phone.parse(value)
    raise InvalidType(f"phone must be a Phone or a string such as '+7 916 123-45-67', got {value!r}")


def _optional_phone(value: object) -> Phone | None:
    return None if value is None else _phone(value)


def _contact_email(value: object) -> str:
    return normalise_email(value)


@attrs.frozen
class Contacts:
    """The customer's contact details and preferred channel.

    A phone given as text is read with Russian numbering (use :meth:`Phone.parse` for another region). The
    phone and messenger channels need a phone number.
    """

    name: str = attrs.field(converter=_person_name)
    email: str = attrs.field(converter=_contact_email)
    phone: Phone | None = attrs.field(default=None, converter=_optional_phone)
    channel: Channel = attrs.field(default=Channel.EMAIL, converter=_channel)

    def __attrs_post_init__(self) -> None:
        if self.channel is not Channel.EMAIL and self.phone is None:
            raise InvalidInput(f"the contact channel {self.channel.value!r} needs a phone number; give one")


def _clock_time(value: object) -> time:
    if not isinstance(value, time):
        raise InvalidType(f"working hours must be given as datetime.time values, got {value!r}")
    if value.tzinfo is not None:
        raise InvalidInput(
            f"working hours are local times of the zone given as tz; got {value!r} with a zone"
        )
    return value


def _days(value: object) -> frozenset[int]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidType(f"days must be weekday numbers (0 = Monday ... 6 = Sunday), got {value!r}")
    days = frozenset(value)
    if not days or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise InvalidInput(
            f"days must be weekday numbers 0 (Monday) to 6 (Sunday), at least one; got {value!r}"
        )
    return days


def _tz(value: object) -> str:
    zone(value)
    return str(value)


@attrs.frozen
class WorkingHours:
    """When the manager can be reached: the same local hours on the given weekdays, in ``tz``.

    >>> str(WorkingHours(time(9), time(18)))
    'Mon-Fri 09:00-18:00 Europe/Moscow'
    """

    start: time = attrs.field(converter=_clock_time)
    end: time = attrs.field(converter=_clock_time)
    days: frozenset[int] = attrs.field(default=frozenset(range(5)), converter=_days)
    tz: str = attrs.field(default=DEFAULT_TZ, converter=_tz)

    def __attrs_post_init__(self) -> None:
        # Managers' hours are within one day; hours crossing midnight would belong to two weekdays.
        if self.end <= self.start:
            raise InvalidInput(
                f"working hours must end after they start on the same day, got "
                f"{self.start:%H:%M}-{self.end:%H:%M}"
            )

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls within the hours, on the zone's own calendar: [start, end)."""
        local = require_aware(at).astimezone(zone(self.tz))
        return local.weekday() in self.days and self.start <= local.time().replace(tzinfo=None) < self.end

    def __str__(self) -> str:
        days = sorted(self.days)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            day_text = f"{_DAY_NAMES[days[0]]}-{_DAY_NAMES[days[-1]]}"
        else:
            day_text = ",".join(_DAY_NAMES[d] for d in days)
        return f"{day_text} {self.start:%H:%M}-{self.end:%H:%M} {self.tz}"


def _hours(instance: object, attribute: attrs.Attribute[WorkingHours], value: object) -> None:
    if not isinstance(value, WorkingHours):
        raise InvalidType(f"hours must be WorkingHours, got {value!r}")


def _manager_email(value: object) -> str:
    return normalise_email(value, "manager e-mail")


@attrs.frozen
class Manager:
    """The personal manager the provider assigns to an account."""

    name: str = attrs.field(converter=_person_name)
    email: str = attrs.field(converter=_manager_email)
    phone: Phone = attrs.field(converter=_phone)
    hours: WorkingHours = attrs.field(validator=_hours)
