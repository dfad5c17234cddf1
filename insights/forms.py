"""The analytics period: two dates, checked so that no choice can make a page fail."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from insights.analytics import Period

MAX_DAYS = 366
DEFAULT_DAYS = 30
# Bounds that keep every date (and the day after it) a valid moment in any time zone.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


class DateInput(forms.DateInput):
    input_type = "date"  # the browser's date picker; the value is sent as YYYY-MM-DD

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=DateInput(), error_messages={"invalid": "“From” is not a date."})
    end = forms.DateField(label="To", widget=DateInput(), error_messages={"invalid": "“To” is not a date."})

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        for name, value in (("From", start), ("To", end)):
            if not EARLIEST <= value <= LATEST:
                raise ValidationError(f"“{name}” must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}.")
        if end < start:
            raise ValidationError(
                f"“To” ({end.isoformat()}) is before “From” ({start.isoformat()}): choose an end on or after the start."
            )
        days = (end - start).days + 1
        if days > MAX_DAYS:
            raise ValidationError(f"The period is {days} days long; choose at most {MAX_DAYS} days.")
        return data

    def period(self) -> Period:
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])


def period_form(params) -> PeriodForm:
    """Bound to the request's dates when it names any, else to the last DEFAULT_DAYS days."""
    if "start" in params or "end" in params:
        return PeriodForm(params)
    today = timezone.localdate()
    start = today - timedelta(days=DEFAULT_DAYS - 1)
    return PeriodForm({"start": start.isoformat(), "end": today.isoformat()})
