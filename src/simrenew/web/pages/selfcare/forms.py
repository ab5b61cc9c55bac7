"""What a form page tells the visitor: an error next to the form, or a notice after a redirect."""

from __future__ import annotations

from dataclasses import dataclass

from simrenew.errors import SimrenewError
from simrenew.web.pages.selfcare.i18n import N_, translate

# Notices a redirect may ask a page to show (`?notice=bound`): only these fixed texts, so a
# link from elsewhere cannot put words on the page.
NOTICES = {
    "welcome": N_("Welcome! Your account is ready. Add your first number to see its balance."),
    "signed_out": N_("You are signed out."),
    "password_changed": N_("Your password was changed. Sign in with the new one."),
    "bound": N_("The number is now linked to your account."),
    "unbound": N_("The number was removed from your account."),
}


@dataclass(frozen=True)
class FormError:
    """An error shown above a form, pointing at the field at fault when there is one."""

    message: str
    field: str | None = None
    status_code: int = 400

    def on(self, name: str) -> bool:
        """Whether the error is about this field (marks it invalid for screen readers)."""
        return self.field == name


def form_error(error: SimrenewError, language: str) -> FormError:
    """A service error as the form shows it, in the page's language."""
    field = error.context.get("field")
    return FormError(
        error.message(language),
        field=field if isinstance(field, str) else None,
        status_code=error.http_status,
    )


def notice_text(key: str | None, language: str) -> str | None:
    """The translated notice a redirect asked for, if it is one of ours."""
    message = NOTICES.get(key or "")
    return translate(language, message) if message else None
