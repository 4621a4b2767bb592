"""Two-factor sign-in (TOTP authenticator apps plus one-time recovery codes) for contacts and
staff alike: every function takes the login (a models.Contact or a models.StaffUser).

A code is good once: the last accepted 30-second step is stored and a code of that step or an
earlier one is refused, so a code read over someone's shoulder cannot be replayed. Wrong codes
are counted per login; after MAX_FAILURES in a row code entry pauses for LOCK_MINUTES,
however many machines the guesses come from.
"""
import datetime as dt
import hmac
import secrets

import pyotp
import segno
from markupsafe import Markup

import models
from billing import DomainError, transaction
from i18n import N_
from i18n import gettext as _

RECOVERY_CODE_COUNT = 10
MAX_FAILURES = 5
LOCK_MINUTES = 15
STEP_SECONDS = 30
# Authenticator apps and servers disagree by a few seconds: the step before and after count.
VALID_WINDOW = 1
# Recovery codes: 10 characters from an alphabet without look-alikes (0/O, 1/I/L).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

WRONG_CODE = N_("That code is not right. Check the time on your phone and try the newest code.")
USED_CODE = N_("That code was already used. Wait for the next one in your app.")
LOCKED = N_("Too many wrong codes. For your account's safety code entry is paused: try again "
            "in %(minutes)s minutes, or ask us for help.")
ENTER_CODE = N_("Enter the 6-digit code from your authenticator app, or a recovery code.")


def _owner(account):
    """The TwoFactor column that names this login."""
    if isinstance(account, models.Contact):
        return models.TwoFactor.contact
    if isinstance(account, models.StaffUser):
        return models.TwoFactor.staff
    raise TypeError(f"Two-factor sign-in is for contacts and staff, not {type(account)!r}.")


def _row(account):
    return models.TwoFactor.get_or_none(_owner(account) == account.id)


def enabled_row(account):
    row = _row(account)
    return row if row is not None and row.enabled_at is not None else None


def is_enabled(account):
    return enabled_row(account) is not None


def contacts_with_it(contact_ids):
    """Which of these contacts have two-factor on (one query, for a list of contacts)."""
    T = models.TwoFactor
    return {row.contact_id for row in T.select(T.contact).where(
        T.contact.in_(list(contact_ids)) & T.enabled_at.is_null(False))}


def pending_row(account):
    row = _row(account)
    return row if row is not None and row.enabled_at is None else None


def remaining_recovery_codes(account):
    row = enabled_row(account)
    if row is None:
        return 0
    return (models.RecoveryCode.select()
            .where((models.RecoveryCode.two_factor == row.id)
                   & models.RecoveryCode.used_at.is_null()).count())


def _log(account, action, staff=None):
    if isinstance(account, models.Contact):
        models.Activity.log(action, account, client=account.client_id, contact=account,
                            staff=staff)
    else:
        models.Activity.log(action, account, staff=staff or account)


def _normalise(code):
    return "".join((code or "")[:40].split()).replace("-", "").lower()


# ---------------------------------------------------------------- enrolment

def start_enrolment(account):
    """A new secret, stored pending: logins ignore it until confirm_enrolment() sees a right
    code. Starting again replaces a pending secret (a half-done set-up on another phone)."""
    if is_enabled(account):
        raise DomainError(_("Two-factor sign-in is already on."))
    with transaction():
        models.TwoFactor.delete().where(_owner(account) == account.id).execute()
        return models.TwoFactor.create(**{_owner(account).name: account.id},
                                       secret=pyotp.random_base32())


def provisioning_uri(row, account, issuer):
    return pyotp.TOTP(row.secret).provisioning_uri(name=account.email,
                                                   issuer_name=issuer or "Client Portal")


def qr_svg(uri, label):
    """The QR code of `uri` as inline SVG markup: no script, no style attribute (the CSP
    allows neither), sized by the stylesheet through its class."""
    svg = segno.make(uri, error="m").svg_inline(omitsize=True, border=4, light="#fff",
                                                 svgclass="qr-code", lineclass=None)
    label = Markup.escape(label)
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


def grouped_secret(secret):
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(account, code, *, now=None):
    """Turn two-factor on with the first right code. Returns the recovery codes, in clear
    text for this once; only their hashes are kept."""
    row = pending_row(account)
    if row is None:
        raise DomainError(_("Start the set-up again: it has expired or was finished."), "code")
    step = _matching_step(row, _normalise(code), now)
    if step is None:
        raise DomainError(_(WRONG_CODE), "code")
    with transaction():
        turned_on = models.TwoFactor.update(
            enabled_at=models.utcnow(), last_step=step, failed_attempts=0, locked_until=None
        ).where((models.TwoFactor.id == row.id) & models.TwoFactor.enabled_at.is_null()
                ).execute()
        if turned_on != 1:
            raise DomainError(_("Two-factor sign-in is already on."), "code")
        codes = _new_recovery_codes(row)
        _log(account, "two_factor.enabled")
    return codes


def _new_recovery_codes(row):
    models.RecoveryCode.delete().where(models.RecoveryCode.two_factor == row.id).execute()
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
             for _ in range(RECOVERY_CODE_COUNT)]
    models.RecoveryCode.insert_many(
        [{"two_factor": row.id, "code_hash": models.hash_token(code)} for code in codes]
    ).execute()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


# ---------------------------------------------------------------- signing in

def _step(now=None):
    moment = now or dt.datetime.now(dt.UTC)
    return int(moment.timestamp()) // STEP_SECONDS


def _matching_step(row, code, now=None):
    """The time step (within the window) whose code `code` is, or None."""
    # isascii too: "１２３４５６" is digits to Python, and compare_digest refuses non-ASCII.
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(row.secret)
    current = _step(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def locked(row):
    return row.locked_until is not None and row.locked_until > models.utcnow()


def verify(account, code, *, now=None):
    """Accept a current authenticator code or an unused recovery code (used up by this).
    Returns "app" or "recovery"; raises DomainError (field "code") otherwise, counting the
    failure. Locked logins are refused before the code is looked at."""
    row = enabled_row(account)
    if row is None:
        raise DomainError(_("Two-factor sign-in is not on for this account."), "code")
    if locked(row):
        raise DomainError(_(LOCKED, minutes=LOCK_MINUTES), "code")
    code = _normalise(code)
    if not code:
        raise DomainError(_(ENTER_CODE), "code")
    step = _matching_step(row, code, now)
    if step is not None:
        # Claimed with a conditional UPDATE: two requests racing with one code get one login.
        claimed = models.TwoFactor.update(last_step=step, failed_attempts=0).where(
            (models.TwoFactor.id == row.id) & (models.TwoFactor.last_step < step)).execute()
        if claimed == 1:
            return "app"
        _fail(account, row, USED_CODE)
    if len(code) == 10:
        used = models.RecoveryCode.update(used_at=models.utcnow()).where(
            (models.RecoveryCode.two_factor == row.id)
            & (models.RecoveryCode.code_hash == models.hash_token(code))
            & models.RecoveryCode.used_at.is_null()).execute()
        if used == 1:
            models.TwoFactor.update(failed_attempts=0).where(
                models.TwoFactor.id == row.id).execute()
            _log(account, "two_factor.recovery_code_used")
            return "recovery"
    _fail(account, row, WRONG_CODE)


def _fail(account, row, message):
    """Count a wrong code (committed even though the caller sees an error) and lock the
    login after MAX_FAILURES in a row."""
    T = models.TwoFactor
    T.update(failed_attempts=T.failed_attempts + 1).where(T.id == row.id).execute()
    failures = T.select(T.failed_attempts).where(T.id == row.id).scalar() or 0
    if failures >= MAX_FAILURES:
        T.update(failed_attempts=0,
                 locked_until=models.utcnow() + dt.timedelta(minutes=LOCK_MINUTES)
                 ).where(T.id == row.id).execute()
        _log(account, "two_factor.locked")
        raise DomainError(_(LOCKED, minutes=LOCK_MINUTES), "code")
    raise DomainError(_(message), "code")


# ---------------------------------------------------------------- changes once it is on

def _confirm_identity(account, password, code):
    """A change to two-factor sign-in needs the password or a current code: a session left
    open on a shared computer must not be enough to switch it off."""
    if password:
        if account.check_password(password[:200]):
            return
        raise DomainError(_("That password is not right."), "password")
    if code:
        verify(account, code)
        return
    raise DomainError(_("Enter your password or a code from your authenticator app."),
                      "password")


def disable(account, *, password="", code=""):
    if not is_enabled(account):
        raise DomainError(_("Two-factor sign-in is already off."))
    _confirm_identity(account, password, code)
    with transaction():
        models.TwoFactor.delete().where(_owner(account) == account.id).execute()
        _log(account, "two_factor.disabled")


def regenerate_recovery_codes(account, *, password="", code=""):
    """Ten fresh codes; the old ones stop working."""
    row = enabled_row(account)
    if row is None:
        raise DomainError(_("Two-factor sign-in is off."))
    _confirm_identity(account, password, code)
    with transaction():
        codes = _new_recovery_codes(row)
        _log(account, "two_factor.recovery_codes_regenerated")
    return codes


def reset_by_staff(account, staff):
    """Staff switch it off for someone who lost their phone and their recovery codes; they
    set it up again at their next login (or are asked to, when the business requires it)."""
    with transaction():
        removed = models.TwoFactor.delete().where(_owner(account) == account.id).execute()
        if removed:
            _log(account, "two_factor.reset_by_staff", staff=staff)
    return bool(removed)


def required_for(account, company):
    """Whether this login must set up two-factor before it may do anything else."""
    return (isinstance(account, models.Contact) and bool(company.require_two_factor)
            and not is_enabled(account))
