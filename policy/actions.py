"""Every action a person can ask the bot for, and who may ask: authorisation in one place.

The check always uses the roles resolved from the directory for the sender of the activity
(``from.aadObjectId``), never anything carried in card data (quality note, "Action.Execute").
"""

from __future__ import annotations

from enum import StrEnum

from policy.filtering import every_decider as every_filter_decider
from policy.roles import SAFEGUARDING_LEADS, STAFF_ROLES, Person, Role


class Verb(StrEnum):
    """What a person may ask the bot to do: the key of the permission table (``may``).

    Named for the wire: the value is what a card's button sends as
    ``Action.Execute.verb`` (Teams' own word), and what a typed command runs. It lives
    here, not in ``cards``, because who may do it is policy; cards import it from here.
    """

    MENU = "menu"
    HELP = "help"
    REPORT_CONCERN = "concern.start"
    REPORT_WORRY = "worry.start"
    MY_REPORTS = "reports.mine"
    REQUEST_FILTER_CHANGE = "filter.start"
    CHECK_VIDEO_CALL = "call.start"
    OPEN_ITEMS = "dsl.open_items"
    INCIDENT_LOG = "dsl.incident_log"
    FILTER_LOG = "filter.log"
    # Concerns (001 §8–9, 003, 004 §2)
    CONCERN_SUBMIT = "concern.submit"
    CONCERN_OPEN = "concern.open"
    CONCERN_ACKNOWLEDGE = "concern.ack"
    CONCERN_ACTION = "concern.action"
    CONCERN_NOTE = "concern.note"
    CONCERN_ASSESS = "concern.assess"
    CONCERN_CLOSE = "concern.close"
    # Pupil reports (issue 4)
    WORRY_SUBMIT = "worry.submit"
    # Filter exceptions (000 §4.1, 001 §7.3, 002 §3, 004 "Filtering")
    FILTER_SUBMIT = "filter.submit"
    FILTER_APPROVE = "filter.approve"
    FILTER_REJECT = "filter.reject"
    FILTER_ASK = "filter.ask"
    FILTER_ANSWER = "filter.answer"
    FILTER_APPLIED = "filter.applied"
    FILTER_REBLOCKED = "filter.reblocked"
    # Video calls (000 §6, §8, §10; 001 §2.4)
    CALL_SUBMIT = "call.submit"
    NEXT_LESSONS = "call.next"
    RECORDING_DECIDE = "call.recording.decide"
    CALL_LOG_SUBMIT = "call.log.submit"
    CALL_RULE_RECORDING = "call.rule.recording"
    CALL_RULE_CONTACT = "call.rule.contact"
    WITHDRAWN_PUPILS = "call.withdrawn"
    # ----- Records the school must show (issue 13): added for the reports feature -----
    CONCERN_CHRONOLOGY = "concern.chronology"
    GOVERNORS_REPORT = "records.governors"
    # ----- Over-blocking and exact exceptions (issue 21) -----
    OVERBLOCKED_START = "overblock.start"
    OVERBLOCKED_SUBMIT = "overblock.submit"
    OVERBLOCKED_EXCEPTION = "overblock.exception"
    OVERBLOCKED_EXCEPTION_SUBMIT = "overblock.exception_submit"
    OVERBLOCKED_EXPLAIN = "overblock.explain"
    FILTER_OPEN_ITEMS = "filter.open_items"
    # ----- Monitoring alerts and sensitive-lesson notices (issue 21) -----
    ALERT_OPEN = "alert.open"
    ALERT_FALSE_POSITIVE = "alert.false_positive"
    ALERT_MONITOR = "alert.monitor"
    ALERT_CONTACT = "alert.contact"
    ALERT_ESCALATE = "alert.escalate"
    LESSON_NOTICE = "notice.start"
    LESSON_NOTICE_SUBMIT = "notice.submit"
    # ----- Filtering and monitoring checks (DfE standards; 000 §3.5, 004) -----
    FM_CHECK_START = "fmcheck.start"
    FM_CHECK_SUBMIT = "fmcheck.submit"
    # ----- Closing safely (issue 20): a second senior person for serious concerns -----
    CONCERN_PROPOSE_CLOSE = "concern.close.propose"
    CONCERN_CONFIRM_CLOSE = "concern.close.confirm"
    CONCERN_SEND_BACK = "concern.close.send_back"
    # ----- Feedback to the pupil who reported (issue 20, 004 §2) -----
    PUPIL_FEEDBACK_START = "feedback.start"
    PUPIL_FEEDBACK_SEND = "feedback.send"
    PUPIL_FEEDBACK_ASK = "feedback.ask"
    PUPIL_FEEDBACK_ANSWER = "feedback.answer"
    # ----- Hand-off to the school's safeguarding record system (issue 20) -----
    CONCERN_HANDOFF = "concern.handoff"


_EVERYONE_WITH_ACCESS: frozenset[Role] = frozenset(Role)
_STAFF: frozenset[Role] = STAFF_ROLES
_HANDLERS: frozenset[Role] = SAFEGUARDING_LEADS | {Role.HEADTEACHER, Role.CHAIR_OF_GOVERNORS}
#: Who decides filter requests: the rule lives in one place (policy.filtering.reason_approver).
_FILTER_DECIDERS: frozenset[Role] = every_filter_decider()
#: Filtering and monitoring checks: IT with the DSL, a deputy or the online safety lead (004).
_CHECKERS: frozenset[Role] = SAFEGUARDING_LEADS | {Role.IT, Role.ONLINE_SAFETY_LEAD}

#: Who may run each verb. A person may run a verb when they hold any of its roles and, for
#: staff verbs, are not a pupil (a pupil's access is never widened by another role).
PERMISSIONS: dict[Verb, frozenset[Role]] = {
    Verb.MENU: _EVERYONE_WITH_ACCESS,
    Verb.HELP: _EVERYONE_WITH_ACCESS,
    Verb.REPORT_WORRY: frozenset({Role.PUPIL}),
    Verb.MY_REPORTS: frozenset({Role.PUPIL}) | _STAFF,
    Verb.REPORT_CONCERN: _STAFF,
    Verb.REQUEST_FILTER_CHANGE: _STAFF,
    Verb.CHECK_VIDEO_CALL: _STAFF,
    Verb.OPEN_ITEMS: SAFEGUARDING_LEADS,
    Verb.INCIDENT_LOG: SAFEGUARDING_LEADS,
    Verb.FILTER_LOG: SAFEGUARDING_LEADS | {Role.IT, Role.ONLINE_SAFETY_LEAD},
    Verb.CONCERN_SUBMIT: _STAFF,
    # Handling: the DSL and deputies; concerns about staff: the headteacher or the chair of
    # governors. Which of them may act on a given concern is checked against the concern itself.
    Verb.CONCERN_OPEN: _HANDLERS,
    Verb.CONCERN_ACKNOWLEDGE: _HANDLERS,
    Verb.CONCERN_ACTION: _HANDLERS,
    Verb.CONCERN_NOTE: _HANDLERS,
    Verb.CONCERN_ASSESS: _HANDLERS,
    Verb.CONCERN_CLOSE: _HANDLERS,
    Verb.WORRY_SUBMIT: frozenset({Role.PUPIL}),
    Verb.FILTER_SUBMIT: _STAFF,
    Verb.FILTER_ANSWER: _STAFF,
    # Deciding: IT, and for sensitive topics the DSL, deputies or online safety lead; who may
    # decide a given request (and never their own) is checked against the request itself.
    Verb.FILTER_APPROVE: _FILTER_DECIDERS,
    Verb.FILTER_REJECT: _FILTER_DECIDERS,
    Verb.FILTER_ASK: _FILTER_DECIDERS,
    Verb.FILTER_APPLIED: frozenset({Role.IT}),
    Verb.FILTER_REBLOCKED: frozenset({Role.IT}),
    Verb.CALL_SUBMIT: _STAFF,
    Verb.NEXT_LESSONS: _STAFF,
    Verb.CALL_LOG_SUBMIT: _STAFF,
    # Recording an online lesson needs the Deputy Head (Academic)'s permission (000 §8).
    Verb.RECORDING_DECIDE: frozenset({Role.DEPUTY_HEAD_ACADEMIC}),
    Verb.CALL_RULE_RECORDING: _STAFF,
    Verb.CALL_RULE_CONTACT: _STAFF,
    # The Deputy Head (Academic) keeps the list of pupils withdrawn by their parents (000 §8).
    Verb.WITHDRAWN_PUPILS: frozenset({Role.DEPUTY_HEAD_ACADEMIC}),
    # ----- Records the school must show (issue 13) -----
    # A concern's chronology (names and detail) goes to whoever may handle that concern; which
    # concern they may export is checked against the concern itself (policy.concerns.may_handle).
    Verb.CONCERN_CHRONOLOGY: _HANDLERS,
    # The governors' report is anonymised: the safeguarding leads prepare it, the headteacher
    # and the chair of governors may run it themselves (002 §2.1, 004 flowchart).
    Verb.GOVERNORS_REPORT: SAFEGUARDING_LEADS | {Role.HEADTEACHER, Role.CHAIR_OF_GOVERNORS},
    # ----- Over-blocking and exact exceptions (issue 21) -----
    # Any member of staff may say a blocked site got in the way of teaching (DfE filtering
    # standard: blocking must not unreasonably impact teaching and learning); IT answers it,
    # either by making the exception request for them or by explaining (001 §7.3).
    Verb.OVERBLOCKED_START: _STAFF,
    Verb.OVERBLOCKED_SUBMIT: _STAFF,
    Verb.OVERBLOCKED_EXCEPTION: frozenset({Role.IT}),
    Verb.OVERBLOCKED_EXCEPTION_SUBMIT: frozenset({Role.IT}),
    Verb.OVERBLOCKED_EXPLAIN: frozenset({Role.IT}),
    # Every open filter request and over-blocking report in the school: for who decides them.
    Verb.FILTER_OPEN_ITEMS: _FILTER_DECIDERS,
    # ----- Monitoring alerts (issue 21): the DSL and deputies (the detail names a pupil and
    # what they typed or viewed), and for an urgent alert whoever is on call; which of them
    # may act on a given alert is checked against the alert (dialogs.monitoring). Any member
    # of staff may warn monitoring about a lesson.
    Verb.ALERT_OPEN: _STAFF,
    Verb.ALERT_FALSE_POSITIVE: _STAFF,
    Verb.ALERT_MONITOR: _STAFF,
    Verb.ALERT_CONTACT: _STAFF,
    Verb.ALERT_ESCALATE: _STAFF,
    Verb.LESSON_NOTICE: _STAFF,
    Verb.LESSON_NOTICE_SUBMIT: _STAFF,
    # Checks are carried out by IT with the DSL or online safety lead (004 "Filtering and
    # monitoring"; 000 §3.5: the DSL leads on the review).
    Verb.FM_CHECK_START: _CHECKERS,
    Verb.FM_CHECK_SUBMIT: _CHECKERS,
    # ----- Closing safely (issue 20) -----
    # Proposing, confirming and sending back a closure: whoever may handle the concern; that the
    # confirmer is a second senior person, never the proposer, is checked against the concern
    # itself (policy.closure.may_confirm, 000 §12.3, 002 §16).
    Verb.CONCERN_PROPOSE_CLOSE: _HANDLERS,
    Verb.CONCERN_CONFIRM_CLOSE: _HANDLERS,
    Verb.CONCERN_SEND_BACK: _HANDLERS,
    # ----- Feedback to the pupil who reported (issue 20) -----
    # Only the DSL and deputies write to a pupil; that the concern is a pupil's own report is
    # checked against the concern itself (policy.pupil_feedback.may_message_pupil).
    Verb.PUPIL_FEEDBACK_START: SAFEGUARDING_LEADS,
    Verb.PUPIL_FEEDBACK_SEND: SAFEGUARDING_LEADS,
    Verb.PUPIL_FEEDBACK_ASK: SAFEGUARDING_LEADS,
    # The pupil answering a question about their own report (checked against the report).
    Verb.PUPIL_FEEDBACK_ANSWER: frozenset({Role.PUPIL}),
    # ----- Hand-off (issue 20) -----
    # Only the DSL hands a concern off to the school's records system (policy.handoff).
    Verb.CONCERN_HANDOFF: frozenset({Role.DSL}),
}

#: What a pupil can do, exactly (pupil report issue: report, see receipts, get help).
PUPIL_VERBS: frozenset[Verb] = frozenset(
    {Verb.MENU, Verb.HELP, Verb.REPORT_WORRY, Verb.WORRY_SUBMIT, Verb.MY_REPORTS}
    | {Verb.PUPIL_FEEDBACK_ANSWER}  # answering the DSL's question about their own report
)


def may(person: Person, verb: Verb) -> bool:
    """Whether ``person`` may run ``verb``.

    Pupils are limited to ``PUPIL_VERBS`` whatever else the directory says about them; a person
    with no roles may do nothing at all.
    """
    if not person.has_access:
        return False
    if person.is_pupil:
        return verb in PUPIL_VERBS
    return bool(person.roles & PERMISSIONS[verb])
