"""The scanner on the hostile/benign corpus: every attack flagged, no benign file above low,
and nothing in the corpus ever executed."""

from __future__ import annotations

from aisec.records import Severity
from aisec.supplychain.scan import scan_file, scan_paths


def test_corpus_has_thirty_distinct_hostile_techniques(corpus):
    hostile = [s for s in corpus.samples if s.malicious]
    assert len({s.technique for s in hostile}) >= 30
    assert {s.category for s in hostile} >= {
        "code-execution",
        "archive",
        "corrupt-header",
        "config-code",
    }
    assert len([s for s in corpus.samples if not s.malicious]) >= 15


def test_every_hostile_sample_is_high_or_critical(corpus):
    missed = []
    for s in corpus.samples:
        if not s.malicious:
            continue
        report = scan_file(corpus.folder / s.name)
        top = report.max_severity
        if top is None or top < Severity.HIGH:
            missed.append((s.name, [f.rule for f in report.findings]))
    assert missed == []


def test_no_benign_sample_above_low(corpus):
    noisy = []
    for s in corpus.samples:
        if s.malicious:
            continue
        report = scan_file(corpus.folder / s.name)
        top = report.max_severity
        if top is not None and top > Severity.LOW:
            noisy.append((s.name, [(f.rule, f.title) for f in report.findings]))
        assert report.format != "unknown" or s.name in NOT_MODEL_FILES, s.name
    assert noisy == []


NOT_MODEL_FILES = {"benign/seven_bytes.bin"}
"""Benign samples that are no model file at all: they stay unrecognised, at info."""


def test_code_execution_samples_are_critical_and_located(corpus):
    report = scan_paths([corpus.folder])
    by_path = {fr.path: fr for fr in report.files}
    for s in corpus.samples:
        fr = by_path[str(corpus.folder / s.name)]
        if (
            s.malicious
            and s.category == "code-execution"
            and "EXT1" not in s.technique
            and ("no list" not in s.technique and "cut before" not in s.technique)
        ):
            assert fr.max_severity is Severity.CRITICAL, (s.name, fr.findings)
        for f in fr.findings:
            assert f.rule.startswith("SCN-") and f.test_id == "supplychain.scan"
            assert f.target == fr.path and f.threats


def test_scanning_never_executes_a_payload(corpus):
    scan_paths([corpus.folder])
    for s in corpus.samples:
        scan_file(corpus.folder / s.name)
    assert not corpus.marker.exists()


def test_specific_techniques_resolve_the_real_callable(corpus):
    def rules_and_titles(name: str) -> str:
        return " ".join(f"{f.rule} {f.title}" for f in scan_file(corpus.folder / name).findings)

    assert "os.system" in rules_and_titles("memo_names.pkl")
    assert "os.system" in rules_and_titles("concat_names.pkl")
    assert "SCN-005" in rules_and_titles("nested_pickle_loads.pkl")
    assert "nested pickle" in " ".join(
        f.location for f in scan_file(corpus.folder / "nested_pickle_loads.pkl").findings
    )
    assert "SCN-092" in rules_and_titles("disguised.safetensors")
    assert "SCN-011" in rules_and_titles("second_pickle.pkl")
    located = scan_file(corpus.folder / "torch_renamed_folder.pt").findings
    assert any(f.location.startswith("my_weights/data.pkl") for f in located)


def test_pickles_without_a_protocol_header_are_found_whatever_their_name(corpus):
    import io
    import pickletools

    for name in (
        "p0_string_first_no_proto.bin",
        "p0_unicode_first_no_extension",
        "p0_int_first.model",
    ):
        data = (corpus.folder / name).read_bytes()
        assert data[:1] != b"\x80"
        pickletools.dis(io.BytesIO(data), out=io.StringIO())  # a valid stream (parsed, not run)
        report = scan_file(corpus.folder / name)
        assert report.format == "pickle"
        assert any(f.rule == "SCN-001" and "os.system" in f.title for f in report.findings)
    truncated = scan_file(corpus.folder / "p0_truncated_after_reduce.dat")
    assert {"SCN-001", "SCN-010"} <= {f.rule for f in truncated.findings}
    assert truncated.max_severity is Severity.CRITICAL


def test_harmless_imports_and_files_that_are_no_pickle_stay_quiet(corpus):
    for name in ("benign/builtins_len.pkl", "benign/future_annotations.pkl"):
        assert scan_file(corpus.folder / name).findings == []
    seven = scan_file(corpus.folder / "benign/seven_bytes.bin")
    assert seven.format == "unknown"
    assert [f.rule for f in seven.findings] == ["SCN-090"]
    config = scan_file(corpus.folder / "torch_config_module.pkl")
    assert config.max_severity is Severity.CRITICAL


def test_pickles_hidden_in_data_are_scanned_as_nested_pickles(corpus):
    for name, how in (
        ("hidden_raw_pickle.pkl", "raw bytes"),
        ("hidden_hex_pickle.pkl", "hex"),
        ("hidden_base64_pickle.pkl", "base64"),
    ):
        findings = scan_file(corpus.folder / name).findings
        hidden = [f for f in findings if f.rule == "SCN-006"]
        assert len(hidden) == 1 and how in hidden[0].title, (name, findings)
        inner = [f for f in findings if f.location.startswith("hidden pickle @")]
        assert any(f.rule == "SCN-001" and "os.system" in f.title for f in inner), name


def test_chat_templates_in_tokenizer_configs_and_jinja_files_are_reviewed(corpus):
    for name, construct in (
        ("tokenizer_format_bypass/tokenizer_config.json", "__class__"),
        ("tokenizer_named_templates/tokenizer_config.json", "__globals__"),
        ("chat_template_concat/chat_template.jinja", "__globals__"),
    ):
        report = scan_file(corpus.folder / name)
        hits = [f for f in report.findings if f.rule == "SCN-061"]
        assert hits and construct in hits[0].title, (name, report.findings)
        assert report.max_severity is Severity.CRITICAL
    named = scan_file(corpus.folder / "tokenizer_named_templates/tokenizer_config.json")
    assert [f.location for f in named.findings if f.rule == "SCN-061"] == [
        "chat_template[tool_use]"
    ]
    for name in ("benign/tokenizer_config.json", "benign/chat_template.jinja"):
        assert scan_file(corpus.folder / name).findings == [], name


def test_saved_model_graphs_are_read_without_tensorflow(corpus):
    pyfunc = scan_file(corpus.folder / "savedmodel_pyfunc/saved_model.pb")
    assert pyfunc.format == "tensorflow-savedmodel"
    code = [f for f in pyfunc.findings if f.rule == "SCN-076"]
    assert {f.evidence["op"] for f in code} == {"PyFunc", "EagerPyFunc"}
    assert pyfunc.max_severity is Severity.CRITICAL
    files = scan_file(corpus.folder / "savedmodel_writefile/saved_model.pb").findings
    assert [(f.rule, f.evidence["op"]) for f in files] == [("SCN-077", "WriteFile")]
    assert scan_file(corpus.folder / "benign/saved_model.pb").findings == []


def test_skops_schemas_are_classified_and_pickles_in_unnamed_members_found(corpus):
    evil = scan_file(corpus.folder / "skops_function_os_system.skops")
    assert evil.format == "skops"
    assert any(f.rule == "SCN-078" and "os.system" in f.title for f in evil.findings)
    benign = scan_file(corpus.folder / "benign/logreg.skops")
    assert benign.format == "skops"
    assert benign.max_severity is None or benign.max_severity <= Severity.LOW
    member = scan_file(corpus.folder / "p0_member_without_extension.zip").findings
    assert any(f.rule == "SCN-001" and f.location.startswith("weights") for f in member)


def test_frame_tricks_are_flagged_and_the_other_reading_is_analysed(corpus):
    straddle = scan_file(corpus.folder / "frame_straddle.pkl").findings
    assert any(f.rule == "SCN-014" for f in straddle)
    other = [f for f in straddle if f.location.startswith("reading from the frame end @")]
    assert any(f.rule == "SCN-001" and "os.system" in f.title for f in other), straddle
    overlap = scan_file(corpus.folder / "frame_overlap.pkl").findings
    assert any(f.rule == "SCN-014" and "inside the previous frame" in f.title for f in overlap)


def test_expansion_attacks_are_flagged_without_expanding_them(corpus):
    report = scan_file(corpus.folder / "billion_laughs.pkl")
    (finding,) = [f for f in report.findings if f.rule == "SCN-015"]
    assert finding.severity is Severity.HIGH
    assert finding.evidence["objects"] >= 10**9 and finding.evidence["stream_bytes"] < 300
