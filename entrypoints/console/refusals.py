"""The console's words for the engine's refusals, in one place.

The engine's typed errors carry English messages, for the HTTP API's problem details and the logs; they stay so. A
console page says a refusal in Vietnamese, chosen by the error's type and the data it carries (a field's name, a
legal rule's key), never by quoting its English message:

- :func:`refusal_text`: a trigger (or the reception) refused — a legal rule, malformed data, a role, a state, a
  value that cannot be used, a unit outside the scope, a procedure not in the catalogue; any other kind of error
  gets a plain sentence of its own (:data:`OTHERWISE`).
- :func:`problem_words`: what is wrong with each field of malformed data, by the field's declared type.
- :func:`input_text`: a value of a page's own form (a report's period) that cannot be used; :data:`NOT_AN_ANCHOR`:
  an anchor file the audit page cannot read.

What a sentence may hold: the definition's labels (of the trigger, its fields and their choices, its roles), a legal
rule's source (the rule set's text) and — for the rules whose reason the engine words in Vietnamese for officials
(:data:`_REASONED`) — that reason (dates and counts of the dossier); never a value a person typed, nor a name taken
from the request. The pages render it escaped (Jinja's autoescape). Problems the console found itself are raised as
:class:`FormProblems`, already in Vietnamese, and said as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from motcua.workflow.dossiers.limits import REDATING_RULE, SUPPLEMENT_RULE
from motcua.workflow.engine.bounds import FIRST_DAY, LAST_DAY, NAME_MAX, TEXT_MAX
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.definition import DataField, DataType, WorkflowDefinition
from motcua.workflow.engine.labels import role_label, trigger_label
from motcua.workflow.errors import (
    GuardRejected,
    ImportedDossier,
    InvalidInput,
    MalformedData,
    MotcuaError,
    OutsideScope,
    RoleNotAllowed,
    RuleRefused,
    TransitionNotAllowed,
    UnknownProcedure,
)
from motcua.workflow.reports.periods import MAX_CUTOFF_DAY

__all__ = ["IMPORTED_WORDS", "NOT_AN_ANCHOR", "OTHERWISE", "REFUSED", "FormProblems", "bound_words", "field_words",
           "input_text", "problem_words", "refusal_text"]

Fields = Mapping[str, DataField]


class FormProblems(MalformedData):
    """Malformed data the console found itself (a form's value not of its type, an applicant's text out of the
    desk's bounds): its problems are already said in Vietnamese."""


OTHERWISE: Final = "Không thể thực hiện «{label}»."
"""A refusal of a kind this module does not know."""
_MISSING: Final = "bắt buộc"
_UNDECLARED: Final = "trường không có trong quy trình"
_SHOWN_PROBLEMS: Final = 10


def bound_words(limit: int, *, one_line: bool) -> str:
    """A text's bound in words: ``chỉ một dòng, tối đa 100 ký tự…`` (the thousands grouped with dots)."""
    shown = f"{limit:,}".replace(",", ".")
    if one_line:
        return f"chỉ một dòng, tối đa {shown} ký tự, không có ký tự điều khiển"
    return f"tối đa {shown} ký tự, không có ký tự điều khiển (ngoài xuống dòng và tab)"


_TYPE_WORDS: Final[Mapping[DataType, str]] = {
    DataType.TEXT: bound_words(TEXT_MAX, one_line=False),
    DataType.INTEGER: "phải là một số nguyên",
    DataType.NUMBER: "phải là một số",
    DataType.BOOLEAN: "phải là có hoặc không",
    DataType.DATE: "ngày không hợp lệ hoặc nằm ngoài khoảng được phép",
    DataType.DATETIME: "thời điểm không hợp lệ hoặc nằm ngoài khoảng được phép",
    DataType.RATING: "phải là một điểm từ 1 đến 5",
    DataType.TEXT_LIST: "danh sách không hợp lệ (quá nhiều dòng, hoặc một dòng quá dài)",
    DataType.RECORD_LIST: "danh sách không hợp lệ",
}


def problem_words(fields: Fields, error: MalformedData, searched: frozenset[str] = frozenset()) -> dict[str, str]:
    """Field name → what is wrong with it, in Vietnamese: the console's own words as they are; the engine's by the
    field's declared type ("bắt buộc" for a field missing), a text ``searched`` by the index as one line."""
    if isinstance(error, FormProblems):
        return dict(error.problems)
    return {name: _MISSING if message == "missing" else field_words(fields.get(name), searched=name in searched)
            for name, message in error.problems.items()}


def field_words(spec: DataField | None, *, searched: bool = False) -> str:
    """What a value of the field ``spec`` declares must be, in words (``None``: a field not declared); ``searched``:
    a text a search key reads, one line of a name's bound."""
    if spec is None:
        return _UNDECLARED
    if searched and spec.type is DataType.TEXT:
        return bound_words(NAME_MAX, one_line=True)
    if spec.type is DataType.CHOICE:
        return "phải là một trong: " + ", ".join(spec.choice_label(choice) for choice in spec.choices)
    if spec.type in (DataType.INTEGER, DataType.NUMBER) and (spec.min is not None or spec.max is not None):
        return f"{_TYPE_WORDS[spec.type]}{_range(spec.min, spec.max)}"
    return _TYPE_WORDS[spec.type]


def _range(least: float | None, greatest: float | None) -> str:
    def shown(value: float) -> str:
        return f"{value:g}".replace(".", ",")

    if least is not None and greatest is not None:
        return f" từ {shown(least)} đến {shown(greatest)}"
    return f" không nhỏ hơn {shown(least)}" if least is not None else f" không lớn hơn {shown(greatest or 0)}"


def _field_label(fields: Fields, name: str) -> str:
    """A declared field's label (its name when it has none); "một trường" for a name the definition does not
    declare (taken from the request: not shown)."""
    spec = fields.get(name)
    if spec is None:
        return "một trường"
    return spec.label or name


# -- the refusals of a trigger ---------------------------------------------------------------------------------------


def _reason(error: RuleRefused) -> str:
    return error.reason


_REASONED: Final[Mapping[str, Callable[[RuleRefused], str]]] = {
    REDATING_RULE: _reason,  # the engine's reasons of the dossier rules are Vietnamese, written for officials
    SUPPLEMENT_RULE: _reason,
    "withdrawal_before_decision": _reason,
    "feedback.extensions": lambda _: "thời hạn trả lời đã được gia hạn đủ số lần cho phép",
    "feedback.extension_length": lambda _: "số ngày làm việc gia hạn nằm ngoài mức cho phép",
    "feedback.extension_before_deadline": lambda _: "đã quá thời hạn trả lời: việc gia hạn phải quyết định trước "
                                                    "thời hạn",
}
"""A legal rule's refusal in words, by the rule's key (``Refusal.rule``); a rule not here is named by its source."""


def _rule(label: str, fields: Fields, definition: WorkflowDefinition, error: RuleRefused) -> str:
    words = _REASONED.get(error.rule)
    why = f": {words(error)}" if words is not None else ""
    return f"«{label}» bị từ chối theo quy định ({error.source}){why}."


def _malformed(label: str, fields: Fields, definition: WorkflowDefinition, error: Any) -> str:
    problems = "; ".join(f"{_field_label(fields, name)}: {words}"
                         for name, words in list(problem_words(fields, error, definition.searched).items())
                         [:_SHOWN_PROBLEMS])
    return f"Dữ liệu của «{label}» chưa hợp lệ — {problems}"


def _role(label: str, fields: Fields, definition: WorkflowDefinition, error: Any) -> str:
    allowed = ", ".join(role_label(definition, role) for role in error.allowed)
    return f"Vai trò của bạn không được thực hiện «{label}» (chỉ: {allowed})."


def _state(label: str, fields: Fields, definition: WorkflowDefinition, error: Any) -> str:
    why = " (một điều kiện của quy trình chưa thỏa)" if isinstance(error, GuardRejected) else ""
    return f"Không thể thực hiện «{label}» ở trạng thái hiện tại của hồ sơ{why}."


_INPUT_WORDS: Final[Mapping[str, str]] = {
    "procedure": "thủ tục không có hiệu lực vào ngày hôm nay",
    "receiving_unit": "đơn vị không có trong danh mục đơn vị hành chính, hoặc không còn hiệu lực vào ngày hôm nay",
    "deciding_unit": "đơn vị không có trong danh mục, không còn hiệu lực, hoặc không cùng tỉnh với đơn vị tiếp nhận",
    "unit": "đơn vị không có trong phạm vi của tài khoản, hoặc không còn hiệu lực",
    "channel": "chỉ nhận trực tiếp, trực tuyến hoặc qua bưu chính",
}
"""What cannot be used in a value, by the field the engine names (:class:`InvalidInput`'s ``field``)."""
_UNUSABLE: Final = "giá trị này không dùng được"


def _invalid(label: str, fields: Fields, definition: WorkflowDefinition, error: Any) -> str:
    words = _INPUT_WORDS.get(error.field, _UNUSABLE)
    if error.field not in fields:
        return f"Dữ liệu của «{label}» chưa hợp lệ: {words}."
    return f"Dữ liệu của «{label}» chưa hợp lệ — {_field_label(fields, error.field)}: {words}."


def _outside(label: str, *_: object) -> str:
    return f"Không thể thực hiện «{label}»: đơn vị nằm ngoài phạm vi của tài khoản."


def _unknown_procedure(label: str, *_: object) -> str:
    return f"Không thể thực hiện «{label}»: thủ tục không có trong danh mục."


Words = Callable[[str, Fields, WorkflowDefinition, Any], str]  # each error's own type, paired below
IMPORTED_WORDS: Final = ("Hồ sơ được đồng bộ từ Cổng Dịch vụ công quốc gia: hồ sơ do hệ thống đã tiếp nhận giải quyết, "
                         "ở đây chỉ lưu bản sao và chỉ cập nhật khi đồng bộ lại.")
"""Why an imported dossier offers no action, and why one was refused."""


def _imported(label: str, *_: object) -> str:
    return f"Không thực hiện «{label}» ở đây. {IMPORTED_WORDS}"


_REFUSALS: Final[tuple[tuple[type[MotcuaError], Words], ...]] = (
    (RuleRefused, _rule),  # before TransitionNotAllowed: a legal rule is a guard that names its text
    (MalformedData, _malformed),
    (RoleNotAllowed, _role),
    (TransitionNotAllowed, _state),
    (InvalidInput, _invalid),
    (OutsideScope, _outside),
    (UnknownProcedure, _unknown_procedure),
    (ImportedDossier, _imported),
)

REFUSED: Final = tuple(kind for kind, _ in _REFUSALS)
"""The refusals a dossier's page says in words (422), the page kept."""


def refusal_text(definition: WorkflowDefinition, trigger: str, error: MotcuaError) -> str:
    """A typed refusal of ``trigger`` (or of the reception: the opening) in Vietnamese, with the definition's labels
    (of the trigger and of its data's fields); :data:`OTHERWISE` for a kind of error not known here."""
    label = trigger_label(definition, trigger)
    spec = definition.triggers.get(trigger)
    fields = spec.data if spec is not None else definition.opening.data if trigger == OPEN_TRIGGER else {}
    for kind, words in _REFUSALS:
        if isinstance(error, kind):
            return words(label, fields, definition, error)
    return OTHERWISE.format(label=label)


# -- a page's own form -----------------------------------------------------------------------------------------------


_DAYS: Final = f"trong khoảng {FIRST_DAY.isoformat()} … {LAST_DAY.isoformat()}"
_FORM_WORDS: Final[Mapping[str, str]] = {
    "period": f"kỳ báo cáo là một năm (2026), một quý (2026-Q1) hoặc một tháng (2026-03), từ năm {FIRST_DAY.year} "
              f"đến năm {LAST_DAY.year}; không chọn cùng lúc kỳ báo cáo và từ ngày, đến ngày",
    "from": f"từ ngày là một ngày dạng 2026-03-01 {_DAYS}, đi cùng đến ngày, không sau đến ngày",
    "to": f"đến ngày là một ngày dạng 2026-03-31 {_DAYS}, đi cùng từ ngày, không trước từ ngày",
    "cutoff_day": f"ngày chốt số liệu là một ngày từ 1 đến {MAX_CUTOFF_DAY}, chỉ dùng với kỳ báo cáo",
}
"""What a page's form field must hold, by the field the error names (``--period`` as the CLI names it, ``period``)."""


NOT_AN_ANCHOR: Final = ("tệp không phải một dấu neo của motcua (tệp JSON do lệnh motcua anchor ghi), hoặc đã bị sửa; "
                        "lệnh motcua verify --anchor TỆP nói rõ chỗ sai")
"""An anchor file the audit page cannot read, whatever is wrong with it."""


def input_text(error: InvalidInput) -> str:
    """A value of a page's own form that cannot be used, in Vietnamese: what its field must hold."""
    field = error.field.removeprefix("--").replace("-", "_")
    return _FORM_WORDS.get(field, "giá trị đã nhập không dùng được; hãy xem lại biểu mẫu")
