"""billing.two_factor driven directly, for a contact and a staff member alike: which row is
whose, enrolment, the code window at a given moment (the service's own `now`, not the
`clock` fixture the page tests use), replay, recovery codes, lockout, the changes that need
the password or a code, and what each writes to the activity log. The pages are
tests/test_two_factor.py and tests/test_two_factor_login.py."""
import datetime as dt
import re
import time

import pyotp
import pytest
import segno

import models
from billing import DomainError, two_factor
from tests import factories
from tests.core_support import activities, interleaved, refusal

MOMENT = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)
STEP = int(MOMENT.timestamp()) // 30
WRONG = "That code is not right. Check the time on your phone and try the newest code."
USED = "That code was already used. Wait for the next one in your app."
LOCKED = ("Too many wrong codes. For your account's safety code entry is paused: try again "
          "in 15 minutes, or ask us for help.")


@pytest.fixture
def ann(db):
    return factories.contact(factories.client(name="Alpha"), email="ann@alpha.example")


def code_at(row, step):
    return pyotp.TOTP(row.secret).at(step * 30)


def switched_on(account):
    """Two-factor on at MOMENT; (row, recovery codes)."""
    row = two_factor.start_enrolment(account)
    codes = two_factor.confirm_enrolment(account, code_at(row, STEP), now=MOMENT)
    return models.TwoFactor.get_by_id(row.id), codes


def refused(call, *args, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value.message, caught.value.field


def stored(row):
    return models.TwoFactor.get_by_id(row.id)


# ---------------------------------------------------------------- whose row

def test_a_contacts_and_a_staff_members_rows_are_their_own(ann):
    staff = factories.staff()
    mine, theirs = two_factor.start_enrolment(ann), two_factor.start_enrolment(staff)
    assert (mine.contact_id, mine.staff_id) == (ann.id, None)
    assert (theirs.contact_id, theirs.staff_id) == (None, staff.id)
    assert two_factor.pending_row(ann).id == mine.id
    assert two_factor.pending_row(staff).id == theirs.id
    with pytest.raises(TypeError, match="for contacts and staff, not"):
        two_factor.is_enabled(factories.client())


def test_only_a_finished_set_up_is_on(ann):
    other = factories.contact(ann.client, email="bo@alpha.example")
    assert not two_factor.is_enabled(ann) and two_factor.enabled_row(ann) is None
    assert two_factor.remaining_recovery_codes(ann) == 0
    two_factor.start_enrolment(other)  # pending: not on
    row, _ = switched_on(ann)
    assert two_factor.enabled_row(ann).id == row.id and two_factor.pending_row(ann) is None
    assert two_factor.contacts_with_it([ann.id, other.id]) == {ann.id}
    assert two_factor.contacts_with_it([other.id]) == set()
    assert two_factor.remaining_recovery_codes(ann) == 10


# ---------------------------------------------------------------- enrolment

def test_starting_again_replaces_a_pending_secret_but_not_one_that_is_on(ann):
    first = two_factor.start_enrolment(ann)
    second = two_factor.start_enrolment(ann)
    assert [r.id for r in models.TwoFactor.select()] == [second.id]
    assert len(second.secret) == 32 and second.secret != first.secret
    switched_on(ann)
    assert refused(two_factor.start_enrolment, ann) == (
        "Two-factor sign-in is already on.", None)


def test_the_first_right_code_turns_it_on_with_ten_recovery_codes(ann):
    row = two_factor.start_enrolment(ann)
    assert refused(two_factor.confirm_enrolment, ann, code_at(row, STEP + 2), now=MOMENT) == (
        WRONG, "code")
    assert not two_factor.is_enabled(ann)
    codes = two_factor.confirm_enrolment(ann, f" {code_at(row, STEP + 1)} ", now=MOMENT)
    on = stored(row)
    assert on.enabled_at is not None and on.last_step == STEP + 1
    assert (on.failed_attempts, on.locked_until) == (0, None)
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-hj-km-np-z2-9]{5}-[a-hj-km-np-z2-9]{5}", c) for c in codes)
    kept = {r.code_hash for r in models.RecoveryCode.select().where(
        models.RecoveryCode.two_factor == row.id)}
    assert kept == {models.hash_token(c.replace("-", "")) for c in codes}
    assert activities("two_factor.enabled") == [(ann.id, ann.client_id, ann.id, None, "")]
    assert refused(two_factor.confirm_enrolment, ann, code_at(row, STEP), now=MOMENT) == (
        "Start the set-up again: it has expired or was finished.", "code")


def test_a_set_up_confirmed_meanwhile_elsewhere_is_refused_as_already_on(ann):
    """Another request turns the same set-up on between this one's read and its update (a
    second tab, a double submit): the update finds it on, and no second set of codes."""
    row = two_factor.start_enrolment(ann)
    turn_on = models.TwoFactor.update(enabled_at=models.utcnow()).where(
        models.TwoFactor.id == row.id)
    with interleaved('UPDATE "twofactor"', turn_on.execute) as fired:
        error = refusal(lambda: two_factor.confirm_enrolment(ann, code_at(row, STEP),
                                                             now=MOMENT))
    assert fired and (error.message, error.field) == ("Two-factor sign-in is already on.",
                                                      "code")


def test_the_set_up_shows_the_key_and_its_qr_code(ann):
    row = two_factor.start_enrolment(ann)
    uri = two_factor.provisioning_uri(row, ann, "")
    assert uri == (f"otpauth://totp/Client%20Portal:ann%40alpha.example?secret={row.secret}"
                   "&issuer=Client%20Portal")
    assert "issuer=Studio%20Nord" in two_factor.provisioning_uri(row, ann, "Studio Nord")
    svg = two_factor.qr_svg(uri, 'Scan "me" & go')
    assert svg.startswith('<svg role="img" aria-label="Scan &#34;me&#34; &amp; go" ')
    assert 'class="qr-code"' in svg and "style=" not in svg and "width=" not in svg
    assert svg.count("<svg") == 1 and 'fill="#fff"' in svg
    assert two_factor.grouped_secret("ABCDEFGHIJ") == "ABCD EFGH IJ"


# ---------------------------------------------------------------- codes at a moment

def test_the_step_is_the_moments_30_seconds(ann):
    assert two_factor._step(MOMENT) == STEP
    assert two_factor._step(MOMENT + dt.timedelta(seconds=20)) == STEP + 1
    before = int(time.time()) // 30
    assert before <= two_factor._step() <= int(time.time()) // 30


def test_a_code_of_the_step_before_now_or_after_is_taken_once(ann):
    row, _ = switched_on(ann)
    later = MOMENT + dt.timedelta(seconds=60)  # step STEP + 2
    for step in (STEP + 1, STEP + 2, STEP + 3):
        assert two_factor._matching_step(row, code_at(row, step), later) == step
    for step in (STEP - 1, STEP + 4):
        assert two_factor._matching_step(row, code_at(row, step), later) is None
    assert two_factor.verify(ann, code_at(row, STEP + 2), now=later) == "app"
    assert (stored(row).last_step, stored(row).failed_attempts) == (STEP + 2, 0)
    # The same code again, or one of an earlier step, is a replay.
    assert refused(two_factor.verify, ann, code_at(row, STEP + 2), now=later) == (USED, "code")
    assert refused(two_factor.verify, ann, code_at(row, STEP + 1), now=later) == (USED, "code")
    assert stored(row).failed_attempts == 2
    assert two_factor.verify(ann, code_at(row, STEP + 3), now=later) == "app"
    assert stored(row).failed_attempts == 0


@pytest.mark.parametrize("code", ["12345", "1234567", "12345a", "１２３４５６"])
def test_only_six_ascii_digits_can_be_an_app_code(ann, code):
    row, _ = switched_on(ann)
    assert two_factor._matching_step(row, code, MOMENT) is None


def test_what_a_person_types_is_read_without_spaces_dashes_or_case():
    assert two_factor._normalise(" 123 456\t") == "123456"
    assert two_factor._normalise("ABCDE-FGHJK") == "abcdefghjk"
    assert two_factor._normalise(None) == ""
    assert two_factor._normalise("1" * 39 + " 2345") == "1" * 39


# ---------------------------------------------------------------- recovery codes, lockout

def test_a_recovery_code_works_once_however_typed(ann):
    row, codes = switched_on(ann)
    models.TwoFactor.update(failed_attempts=3).execute()
    assert two_factor.verify(ann, f" {codes[0].upper()} ", now=MOMENT) == "recovery"
    assert stored(row).failed_attempts == 0
    assert two_factor.remaining_recovery_codes(ann) == 9
    assert activities("two_factor.recovery_code_used") == [
        (ann.id, ann.client_id, ann.id, None, "")]
    assert refused(two_factor.verify, ann, codes[0], now=MOMENT) == (WRONG, "code")
    assert two_factor.verify(ann, codes[1].replace("-", ""), now=MOMENT) == "recovery"


def test_a_recovery_code_is_one_of_this_logins_own(ann):
    _, codes = switched_on(ann)
    staff = factories.staff()
    switched_on(staff)
    assert refused(two_factor.verify, staff, codes[0], now=MOMENT) == (WRONG, "code")
    assert two_factor.remaining_recovery_codes(ann) == 10


def test_five_wrong_codes_in_a_row_pause_code_entry_for_fifteen_minutes(ann):
    row, codes = switched_on(ann)
    for count in range(1, 5):
        assert refused(two_factor.verify, ann, "000000", now=MOMENT) == (WRONG, "code")
        assert stored(row).failed_attempts == count
    before = models.utcnow()
    assert refused(two_factor.verify, ann, "000000", now=MOMENT) == (LOCKED, "code")
    locked = stored(row)
    assert locked.failed_attempts == 0
    assert dt.timedelta(minutes=15) <= locked.locked_until - before < dt.timedelta(minutes=16)
    assert two_factor.locked(locked)
    assert activities("two_factor.locked") == [(ann.id, ann.client_id, ann.id, None, "")]
    # Even a right code waits.
    assert refused(two_factor.verify, ann, codes[0], now=MOMENT) == (LOCKED, "code")
    models.TwoFactor.update(locked_until=models.utcnow() - dt.timedelta(seconds=1)).execute()
    assert not two_factor.locked(stored(row))
    assert two_factor.verify(ann, codes[0], now=MOMENT) == "recovery"


def test_a_blank_code_or_no_two_factor_is_refused_as_such(ann):
    assert refused(two_factor.verify, ann, "123456") == (
        "Two-factor sign-in is not on for this account.", "code")
    row, _ = switched_on(ann)
    assert refused(two_factor.verify, ann, " - ", now=MOMENT) == (
        "Enter the 6-digit code from your authenticator app, or a recovery code.", "code")
    assert stored(row).failed_attempts == 0


# ---------------------------------------------------------------- changes once it is on

def test_turning_it_off_needs_the_password_or_a_current_code(ann):
    row, _ = switched_on(ann)
    assert refused(two_factor.disable, ann) == (
        "Enter your password or a code from your authenticator app.", "password")
    assert refused(two_factor.disable, ann, password="wrong") == (
        "That password is not right.", "password")
    assert refused(two_factor.disable, ann, code="000000") == (WRONG, "code")
    assert two_factor.is_enabled(ann)
    two_factor.disable(ann, password=factories.PASSWORD)
    assert not two_factor.is_enabled(ann) and models.RecoveryCode.select().count() == 0
    assert activities("two_factor.disabled") == [(ann.id, ann.client_id, ann.id, None, "")]
    assert refused(two_factor.disable, ann, password=factories.PASSWORD) == (
        "Two-factor sign-in is already off.", None)


def test_a_password_is_read_to_its_first_200_characters(ann):
    ann.set_password("p" * 200)
    ann.save()
    switched_on(ann)
    two_factor.disable(ann, password="p" * 200 + "typed on")
    assert not two_factor.is_enabled(ann)


def test_a_current_code_also_proves_it_is_them(ann, monkeypatch):
    row, _ = switched_on(ann)
    monkeypatch.setattr(two_factor, "_step", lambda now=None: STEP + 1)
    two_factor.disable(ann, code=code_at(row, STEP + 1))
    assert not two_factor.is_enabled(ann)


def test_new_recovery_codes_retire_the_old_ones(ann):
    assert refused(two_factor.regenerate_recovery_codes, ann, password=factories.PASSWORD) == (
        "Two-factor sign-in is off.", None)
    row, old = switched_on(ann)
    assert refused(two_factor.regenerate_recovery_codes, ann, password="wrong") == (
        "That password is not right.", "password")
    assert two_factor.remaining_recovery_codes(ann) == 10
    new = two_factor.regenerate_recovery_codes(ann, password=factories.PASSWORD)
    assert len(set(new)) == 10 and not set(new) & set(old)
    assert models.RecoveryCode.select().count() == 10
    assert activities("two_factor.recovery_codes_regenerated") == [
        (ann.id, ann.client_id, ann.id, None, "")]
    assert refused(two_factor.verify, ann, old[0], now=MOMENT) == (WRONG, "code")
    assert two_factor.verify(ann, new[0], now=MOMENT) == "recovery"


def test_staff_reset_it_for_someone_and_say_whether_there_was_any(ann):
    staff, other = factories.staff(), factories.contact(ann.client, email="bo@alpha.example")
    switched_on(ann)
    assert two_factor.reset_by_staff(ann, staff) is True
    assert not two_factor.is_enabled(ann)
    assert two_factor.reset_by_staff(other, staff) is False
    assert activities("two_factor.reset_by_staff") == [
        (ann.id, ann.client_id, ann.id, staff.id, "")]


def test_a_staff_members_changes_are_logged_as_theirs(db):
    staff = factories.staff()
    switched_on(staff)
    two_factor.disable(staff, password=factories.PASSWORD)
    logged = models.Activity.select().where(models.Activity.action.startswith("two_factor."))
    assert [(a.action, a.subject_type, a.subject_id, a.staff_id, a.contact_id, a.client_id)
            for a in logged.order_by(models.Activity.id)] == [
        ("two_factor.enabled", "staffuser", staff.id, staff.id, None, None),
        ("two_factor.disabled", "staffuser", staff.id, staff.id, None, None)]


def test_only_a_contact_without_it_is_held_to_the_businesss_requirement(ann):
    company = factories.company(require_two_factor=False)
    assert not two_factor.required_for(ann, company)
    company = factories.company(require_two_factor=True)
    assert two_factor.required_for(ann, company)
    assert not two_factor.required_for(factories.staff(), company)
    switched_on(ann)
    assert not two_factor.required_for(ann, company)


# ---------------------------------------------------------------- each login's own row

@pytest.fixture
def bo(ann):
    """A second login with two-factor on, set up before Ann's (its row comes first)."""
    bo = factories.contact(ann.client, email="bo@alpha.example")
    switched_on(bo)
    return bo


def test_wrong_codes_count_and_lock_only_the_login_they_were_typed_for(ann, bo):
    row, _ = switched_on(ann)
    bos = two_factor.enabled_row(bo)
    models.TwoFactor.update(failed_attempts=2).where(models.TwoFactor.id == bos.id).execute()
    for _ in range(4):
        refused(two_factor.verify, ann, "000000", now=MOMENT)
    assert (stored(row).failed_attempts, stored(bos).failed_attempts) == (4, 2)
    # The fifth is a replay of an accepted code: it counts as a wrong one.
    assert two_factor.verify(ann, code_at(row, STEP + 1), now=MOMENT) == "app"
    models.TwoFactor.update(failed_attempts=4).where(models.TwoFactor.id == row.id).execute()
    assert refused(two_factor.verify, ann, code_at(row, STEP + 1), now=MOMENT) == (
        LOCKED, "code")
    assert two_factor.locked(stored(row)) and not two_factor.locked(stored(bos))
    assert stored(bos).failed_attempts == 2
    assert activities("two_factor.locked") == [(ann.id, ann.client_id, ann.id, None, "")]


def test_a_recovery_code_clears_only_that_logins_wrong_codes(ann, bo):
    _, codes = switched_on(ann)
    models.TwoFactor.update(failed_attempts=3).execute()
    assert two_factor.verify(ann, codes[0], now=MOMENT) == "recovery"
    assert two_factor.enabled_row(ann).failed_attempts == 0
    assert two_factor.enabled_row(bo).failed_attempts == 3


def test_turning_it_off_or_a_staff_reset_leaves_everyone_elses_on(ann, bo):
    switched_on(ann)
    two_factor.disable(ann, password=factories.PASSWORD)
    assert two_factor.is_enabled(bo) and not two_factor.is_enabled(ann)
    switched_on(ann)
    assert two_factor.reset_by_staff(ann, factories.staff())
    assert two_factor.is_enabled(bo) and not two_factor.is_enabled(ann)


def test_new_recovery_codes_with_a_current_code_or_asked_with_nothing(ann, monkeypatch):
    row, _ = switched_on(ann)
    assert refused(two_factor.regenerate_recovery_codes, ann) == (
        "Enter your password or a code from your authenticator app.", "password")
    monkeypatch.setattr(two_factor, "_step", lambda now=None: STEP + 1)
    assert len(two_factor.regenerate_recovery_codes(ann, code=code_at(row, STEP + 1))) == 10


def test_the_type_refused_is_named(db):
    with pytest.raises(TypeError) as caught:
        two_factor.is_enabled(factories.client())
    assert str(caught.value) == ("Two-factor sign-in is for contacts and staff, not "
                                 "<Model: Client>.")


def test_the_qr_code_has_a_four_module_quiet_zone_and_no_classes_on_its_path(ann):
    uri = two_factor.provisioning_uri(two_factor.start_enrolment(ann), ann, "Studio")
    size = segno.make(uri, error="m").symbol_size(border=4)[0]
    svg = two_factor.qr_svg(uri, "QR")
    assert f'viewBox="0 0 {size} {size}"' in svg
    assert svg.count("class=") == 1  # the svg's own qr-code class
