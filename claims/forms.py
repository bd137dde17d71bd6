"""Member-facing claim forms: they parse and check the shape of input; the rules live in claims.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from claims.models import ClaimKind, CoveredCondition
from claims.services import document_check
from members.errors import DomainError
from members.models import Membership

# Phones offer the camera and the photo library for these; the server still checks the content.
ACCEPTED_TYPES = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
MAX_FILES_AT_ONCE = 20

# Refusals of the services without a field (about the person, the claim), shown next to the input they concern.
_FIELD_FOR_ERROR_CODE: dict[str, str] = {"claim_not_allowed": "member"}
_FIELD_FOR_SERVICE_FIELD: dict[str, str] = {"file": "documents"}


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input: cleaned to a list, each file checked like a single FileField."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPTED_TYPES}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        clean_one = super().clean
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            clean_one(None, initial)  # raises "required" when the field is required
            return []
        return [clean_one(item, initial) for item in files]


class DomainErrorFormMixin(forms.Form):
    def add_domain_error(self, exc: DomainError) -> None:
        """Show a refusal of the service next to the input it is about, or above the form."""
        candidates = (_FIELD_FOR_SERVICE_FIELD.get(exc.field or "", exc.field), _FIELD_FOR_ERROR_CODE.get(exc.code))
        field = next((name for name in candidates if name in self.fields), None)
        self.add_error(field, ValidationError(str(exc.message), code=exc.code))


class DocumentsForm(DomainErrorFormMixin):
    documents = MultipleFileField(
        label=_("Choose the files"),
        help_text=_(
            "The diagnosis report, test results and hospital records: PDF files or photos (JPEG, PNG), "
            "at most 10 MB each. You can choose several at once."
        ),
        error_messages={"required": _("Attach at least one document, for example a photo of the diagnosis report.")},
    )

    def clean_documents(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["documents"]
        if len(files) > MAX_FILES_AT_ONCE:
            raise ValidationError(
                _("Attach at most %(count)s files at once; you can add more afterwards on the claim page.")
                % {"count": MAX_FILES_AT_ONCE},
                code="too_many_files",
            )
        # Every file is checked before any is stored, so a refused file leaves no claim and no file behind.
        errors = [error for upload in files if (error := _document_error(upload)) is not None]
        if errors:
            raise ValidationError(errors)
        return files


def _document_error(upload: UploadedFile) -> ValidationError | None:
    try:
        document_check(upload=upload)
    except DomainError as exc:
        return ValidationError(
            _("%(name)s: %(problem)s") % {"name": upload.name, "problem": exc.message}, code=exc.code
        )
    return None


class MemberChoiceField(forms.ModelChoiceField[Membership]):
    def label_from_instance(self, obj: Membership) -> str:
        return f"{obj.person.name} ({obj.get_relationship_display()})"


class ConditionChoiceField(forms.ModelChoiceField[CoveredCondition]):
    def label_from_instance(self, obj: CoveredCondition) -> str:
        return obj.name(get_language())


class ClaimForm(DocumentsForm):
    member = MemberChoiceField(
        label=_("Who is ill?"),
        queryset=Membership.objects.none(),
        empty_label=_("Choose a person"),
        error_messages={
            "required": _("Choose the person the claim is for."),
            "invalid_choice": _("Choose someone in your household who is covered by the plan."),
        },
    )
    kind = forms.ChoiceField(
        label=_("Illness or accident?"),
        choices=ClaimKind.choices,
        widget=forms.RadioSelect,
        help_text=_("Illness is covered after the waiting period; accidents from the first day."),
        error_messages={"required": _("Choose illness or accident.")},
    )
    condition = ConditionChoiceField(
        label=_("Covered condition"),
        queryset=CoveredCondition.objects.none(),
        empty_label=_("Choose the condition"),
        help_text=_("The critical illness the doctor diagnosed, as named on the diagnosis report."),
        error_messages={
            "required": _("Choose the condition the doctor diagnosed."),
            "invalid_choice": _("Choose one of the plan's covered conditions."),
        },
    )
    diagnosed_on = forms.DateField(
        label=_("Date of diagnosis"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("The date on the diagnosis report."),
        error_messages={
            "required": _("Enter the date of the diagnosis."),
            "invalid": _("Enter the date as year-month-day, for example 2026-03-01."),
        },
    )
    hospital = forms.CharField(
        label=_("Hospital"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("The hospital that made the diagnosis."),
        error_messages={"required": _("Enter the hospital that made the diagnosis.")},
    )
    description = forms.CharField(
        label=_("What happened?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("A few sentences: the symptoms, when it started, the treatment so far."),
        error_messages={"required": _("Describe what happened in a few sentences.")},
    )

    field_order = ["member", "kind", "condition", "diagnosed_on", "hospital", "description", "documents"]

    def __init__(self, *args: Any, members: QuerySet[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        member_field = self.fields["member"]
        condition_field = self.fields["condition"]
        assert isinstance(member_field, MemberChoiceField)
        assert isinstance(condition_field, ConditionChoiceField)
        member_field.queryset = members
        condition_field.queryset = CoveredCondition.objects.filter(plan__in=members.values("plan"))
        self.fields["diagnosed_on"].widget.attrs["max"] = timezone.localdate().isoformat()


class ObjectionForm(DomainErrorFormMixin):
    reason = forms.CharField(
        label=_("Why do you object?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the investigators should check, for example that the illness began before joining."),
        error_messages={"required": _("Say why you object, so the investigators can check it.")},
    )
