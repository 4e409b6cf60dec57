"""Contacts and the personal manager: names, e-mail, phones in E.164, channels, working hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet_core import CabinetError, InvalidInput, InvalidType, NaiveDatetime, UnknownCode
from cabinet_core.contacts import (
    Channel,
    Contacts,
    Manager,
    Phone,
    WorkingHours,
    normalise_email,
)

MSK = ZoneInfo("Europe/Moscow")


# -- phones -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["8 (916) 123-45-67", "+7 916 123 45 67", "89161234567", "+79161234567", "9161234567", "8-916-123-4567"],
)
def test_russian_spellings_become_one_e164(written: str) -> None:
    """The ways people write a Russian mobile number all store as the same E.164."""
    phone = Phone.parse(written)
    assert phone.e164 == "+79161234567" == str(phone)
    assert phone.national() == "8 (916) 123-45-67"
    assert phone.international() == "+7 916 123-45-67"
    assert phone.region == "RU"


def test_foreign_numbers() -> None:
    """A number with a country code keeps it; display is national at home, international abroad."""
    uk = Phone.parse("+44 20 7946 0958")
    assert uk.e164 == "+442079460958" and uk.region == "GB"
    assert uk.display() == "+44 20 7946 0958"
    assert uk.display("GB") == "020 7946 0958"
    assert Phone.parse("020 7946 0958", region="gb") == uk
    assert Phone.parse("8 916 123-45-67").display() == "8 (916) 123-45-67"
    kz = Phone(
        phonenumbers.format_number(phonenumbers.example_number("KZ"), phonenumbers.PhoneNumberFormat.E164)
    )
    assert kz.region == "KZ" and kz.display() == kz.national()  # +7 is dialled the same from Russia


@pytest.mark.parametrize(
    "written",
    ["", "   ", "123", "+7 000", "abc", "+7 916 123 45 67 89 01", "8 (916) 123-45-6", "1" * 65, "+999 123"],
)
def test_invalid_numbers_refused(written: str) -> None:
    """Impossible or malformed numbers are refused with a message naming them and showing the form."""
    with pytest.raises(InvalidInput) as info:
        Phone.parse(written)
    assert repr(written) in str(info.value) and "+7 916 123-45-67" in str(info.value)


def test_extension_refused() -> None:
    """A number with an extension is refused rather than silently losing the extension."""
    with pytest.raises(InvalidInput, match="extension"):
        Phone.parse("+7 495 123-45-67 ext. 123")


def test_phone_constructor_needs_e164() -> None:
    """Phone(...) takes only canonical E.164; Phone.parse reads everything else."""
    assert Phone("+79161234567").national() == "8 (916) 123-45-67"
    for bad in ("89161234567", "+7 916 123 45 67", "+7916123456"):
        with pytest.raises(InvalidInput):
            Phone(bad)
    with pytest.raises(InvalidType):
        Phone(79161234567)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="region"):
        Phone.parse("9161234567", region="XX")


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
def test_national_format_round_trips_in_every_region(region: str) -> None:
    """For every country, its example number written nationally is read back to the same E.164."""
    example = phonenumbers.example_number(region)
    if example is None:
        return
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    phone = Phone(e164)
    assert Phone.parse(phone.national(), region=region) == phone
    assert Phone.parse(phone.international()) == phone
    assert phone.display(region) == phone.national()


@given(st.text(max_size=30))
def test_any_text_is_a_phone_or_a_clear_refusal(text: str) -> None:
    """Any text parses to a canonical phone (a fixed point of parsing) or is refused as InvalidInput."""
    try:
        phone = Phone.parse(text)
    except InvalidInput:
        return
    assert Phone(phone.e164) == phone == Phone.parse(phone.national()) == Phone.parse(phone.e164)


# -- e-mail and contacts ----------------------------------------------------------------------------------


def test_email_normalised_and_validated() -> None:
    """E-mail is normalised (domain lowercase, IDN shown as U-label) and malformed ones are refused."""
    assert normalise_email(" Ivan@XN--E1AFMKFD.XN--P1AI ") == "Ivan@пример.рф"
    for bad in ("ivan", "ivan@", "a@[127.0.0.1]", '"a b"@x.ru', "a@x.test"):
        with pytest.raises(InvalidInput) as info:
            normalise_email(bad)
        assert repr(bad) in str(info.value)
    with pytest.raises(InvalidType):
        normalise_email(None)


def test_contacts() -> None:
    """Contacts hold a trimmed name, a normalised e-mail, an E.164 phone and the preferred channel."""
    c = Contacts(" Иван Петров ", "Ivan@Example.RU", "8 916 123-45-67", "phone")
    assert (c.name, c.email, c.phone, c.channel) == (
        "Иван Петров",
        "Ivan@example.ru",
        Phone("+79161234567"),
        Channel.PHONE,
    )
    assert Contacts("Иван", "ivan@x.ru").channel is Channel.EMAIL
    assert Contacts("Иван", "ivan@x.ru", Phone.parse("+44 20 7946 0958"), Channel.MESSENGER).phone is not None


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"name": ""}, InvalidInput, "name"),
        ({"name": "a\x00b"}, InvalidInput, "printable"),
        ({"name": "x" * 201}, InvalidInput, "1-200"),
        ({"name": 5}, InvalidType, "name"),
        ({"email": "nope"}, InvalidInput, "'nope'"),
        ({"phone": "123"}, InvalidInput, "'123'"),
        ({"phone": 79161234567}, InvalidType, "phone"),
        ({"channel": "fax"}, UnknownCode, "email, phone, messenger"),
        ({"channel": "phone", "phone": None}, InvalidInput, "needs a phone number"),
        ({"channel": "messenger", "phone": None}, InvalidInput, "needs a phone number"),
    ],
)
def test_contacts_refusals(kwargs: dict[str, object], error: type[CabinetError], words: str) -> None:
    """Each bad field is refused with the fitting error, naming the value and what is accepted."""
    fields: dict[str, object] = {"name": "Иван", "email": "ivan@x.ru", "phone": "+79161234567"}
    fields.update(kwargs)
    with pytest.raises(error) as info:
        Contacts(**fields)  # type: ignore[arg-type]
    assert words in str(info.value)


@given(st.sampled_from(list(Channel)), st.booleans())
def test_channel_needs_phone_property(channel: Channel, with_phone: bool) -> None:
    """Contacts are valid exactly when the channel is e-mail or a phone is given."""
    phone = "+79161234567" if with_phone else None
    if channel is Channel.EMAIL or with_phone:
        assert Contacts("Иван", "ivan@x.ru", phone, channel.value.upper()).channel is channel
    else:
        with pytest.raises(InvalidInput):
            Contacts("Иван", "ivan@x.ru", phone, channel)


# -- manager and working hours ----------------------------------------------------------------------------


def test_manager() -> None:
    """The provider's manager has a name, e-mail, phone and working hours."""
    m = Manager("Анна Смирнова", "anna@provider.ru", "+7 495 123-45-67", WorkingHours(time(9), time(18)))
    assert m.phone.national() == "8 (495) 123-45-67"
    assert str(m.hours) == "Mon-Fri 09:00-18:00 Europe/Moscow"
    with pytest.raises(InvalidType):
        Manager("Анна", "anna@provider.ru", "+74951234567", "9-18")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Manager("Анна", "anna@", "+74951234567", WorkingHours(time(9), time(18)))


def test_working_hours_validated() -> None:
    """Hours must end after they start, on known weekdays, in a known zone, as local times."""
    with pytest.raises(InvalidInput, match="18:00-09:00"):
        WorkingHours(time(18), time(9))
    with pytest.raises(InvalidInput):
        WorkingHours(time(9), time(9))
    with pytest.raises(InvalidInput):
        WorkingHours(time(9), time(18), days=[7])
    with pytest.raises(InvalidInput):
        WorkingHours(time(9), time(18), days=[])
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        WorkingHours(time(9), time(18), tz="Mars/Olympus")
    with pytest.raises(InvalidInput):
        WorkingHours(time(9, tzinfo=UTC), time(18))
    with pytest.raises(InvalidType):
        WorkingHours("09:00", time(18))  # type: ignore[arg-type]
    assert str(WorkingHours(time(10), time(14), days={5, 0})) == "Mon,Sat 10:00-14:00 Europe/Moscow"


def test_is_open_uses_the_zone_calendar() -> None:
    """Whether the manager is in is decided on the hours' own zone, start included, end excluded."""
    hours = WorkingHours(time(9), time(18))
    monday_9_msk = datetime(2025, 3, 3, 9, 0, tzinfo=MSK)
    assert hours.is_open(monday_9_msk)
    assert hours.is_open(monday_9_msk.astimezone(UTC))  # 06:00 UTC is 09:00 in Moscow
    assert not hours.is_open(monday_9_msk - timedelta(seconds=1))
    assert not hours.is_open(datetime(2025, 3, 3, 18, 0, tzinfo=MSK))
    assert not hours.is_open(datetime(2025, 3, 8, 12, 0, tzinfo=MSK))  # Saturday
    with pytest.raises(NaiveDatetime):
        hours.is_open(datetime(2025, 3, 3, 12))


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.frozensets(st.integers(0, 6), min_size=1),
    st.integers(0, 22),
    st.integers(1, 24),
)
def test_is_open_property(at: datetime, days: frozenset[int], start: int, span: int) -> None:
    """is_open(at) holds exactly when at's Moscow weekday is listed and its Moscow time is in [start, end)."""
    end = min(start + span, 23)
    if end <= start:
        return
    hours = WorkingHours(time(start), time(end), days=days)
    local = at.astimezone(MSK)
    assert hours.is_open(at) == (local.weekday() in days and start <= local.hour < end)
