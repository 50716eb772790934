"""The report every importer returns (and writes to ``OUT/import_report.json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grace.data.problems import Problem, count_kinds, handling_of


@dataclass
class ImportReport:
    """What an import wrote and everything it skipped, dropped, fixed or noticed.

    ``images`` and ``instances`` are per split; ``duplicates_dropped`` has one entry per dropped
    copy (``dropped``, ``kept`` file names, ``sha256``, ``labels_differ`` and full paths);
    ``problems`` lists every :class:`Problem` with its file; ``warnings`` are the lines the
    summary must show whatever the number of problems (duplicates whose labels differ, class
    names that look like typos). ``ok`` is False (with ``error``) in the report of a failed
    import, which wrote no dataset.
    """

    out: str
    data_yaml: str
    names: list[str]
    images: dict[str, int]
    instances: dict[str, int]
    instances_per_class: dict[str, int]
    duplicates_dropped: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    source: str = ""
    format: str = ""
    split_rule: str = ""
    report_file: str = ""
    warnings: list[str] = field(default_factory=list)
    ok: bool = True
    error: str = ""

    def problem_counts(self) -> dict[str, int]:
        return count_kinds(self.problems)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["problems"] = [p.to_dict() for p in self.problems]
        d["problem_counts"] = self.problem_counts()
        d["handling"] = handling_of(self.problems)
        return d
