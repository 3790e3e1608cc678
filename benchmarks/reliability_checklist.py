"""Issue 18's list of broken cases, each mapped to the regression tests that replay it
(rendered into benchmarks/results/reliability.md by `benchmarks.reliability`; every test
named here must exist: tests/test_reliability_checklist.py checks it).

A test is ``file::function`` under tests/, or ``corpus:name``, a case of
tests/reliability_corpus.py replayed by tests/test_reliability_input.py::test_hostile_input.
"""

from __future__ import annotations

S = "tests/test_reliability_security.py"
U = "tests/test_reliability_untrusted.py"
R = "tests/test_cli_run.py"

#: (group, case as the issue states it, outcome now, tests)
CHECKLIST: list[tuple[str, str, str, list[str]]] = [
    # ------------------------------------------------------------------ security
    (
        "security",
        "`--input-dir` check skipped values with a space (`/srv/secret dir/secret.png`)",
        "exit 2, path named",
        [
            "corpus:run-abs-path-with-space",
            "corpus:run-metadata-input-abs",
            f"{S}::test_paths_with_spaces_or_long_are_checked",
        ],
    ),
    (
        "security",
        "offline decomposer accepted `'/srv/my secret.jpg'`",
        "exit 2",
        [
            "corpus:decompose-abs-path-with-space",
            f"{S}::test_decompose_refuses_an_absolute_path_with_a_space",
        ],
    ),
    ("security", "a long path bypassed the check", "exit 2", ["corpus:run-long-path"]),
    (
        "security",
        "`..` and `~` inside a path with a space",
        "exit 2",
        ["corpus:run-dotdot-with-space", "corpus:run-tilde-with-space", "corpus:run-file-url"],
    ),
    (
        "security",
        "a plan's own problem saved as a problem file ran its python adapter without "
        "`--trust-plan`",
        "exit 2 unless trusted",
        [
            f"{U}::test_a_plans_own_problem_saved_as_a_problem_file_is_refused",
            f"{U}::test_problem_files_are_checked_like_plans",
            "corpus:run-problem-python-adapter-untrusted",
            "corpus:run-problem-os-system-adapter",
        ],
    ),
    (
        "security",
        "LLM client forwarded `Authorization` to a 302 target on another origin",
        "redirects not followed",
        [
            f"{S}::test_api_key_is_never_sent_to_a_redirect_target",
            f"{S}::test_http_model_adapter_does_not_follow_redirects",
        ],
    ),
    (
        "security",
        "as root, `-o /dev/full` replaced the device node",
        "exit 2, node kept",
        [f"{S}::test_device_output_is_refused_and_kept", "corpus:solve-o-device"],
    ),
    (
        "security",
        "a FIFO given as `-o` was replaced",
        "exit 2, FIFO kept",
        [
            f"{S}::test_fifo_output_is_refused_and_kept",
            "corpus:solve-o-fifo",
            "corpus:report-o-fifo",
        ],
    ),
    (
        "security",
        "raw ESC sequences from model ids reached the terminal",
        "escaped",
        [
            "corpus:model-id-escape-valid",
            "corpus:id-escape-sequence",
            f"{S}::test_shown_escapes_markup_and_control_characters",
            "tests/test_reliability_model_processes.py::"
            "test_garbage_on_stdout_is_data_not_terminal_control",
        ],
    ),
    # ------------------------------------------------------------------ data loss
    (
        "data loss",
        "SIGTERM during a run: no report.json, no history row",
        "report (interrupted) + history row",
        [f"{R}::test_signals_stop_cleanly_with_an_interrupted_report"],
    ),
    (
        "data loss",
        "SIGHUP during a run",
        "report (interrupted) + history row",
        [f"{R}::test_signals_stop_cleanly_with_an_interrupted_report"],
    ),
    (
        "data loss",
        "a second SIGINT during a run",
        "report (interrupted) + history row",
        [f"{R}::test_signals_stop_cleanly_with_an_interrupted_report"],
    ),
    (
        "data loss",
        "a full disk mid-run aborted without report or history",
        "report (failed) + history row, or says why not",
        [
            "tests/test_reliability_storage.py::"
            "test_disk_full_at_an_output_ends_with_a_failed_report_and_a_history_row",
            "tests/test_reliability_storage.py::"
            "test_disk_full_everywhere_says_why_the_report_was_not_written",
            "tests/test_reliability_storage.py::test_neither_report_nor_history_writable_says_so",
        ],
    ),
    (
        "data loss",
        "a run directory turning read-only mid-run",
        "history row, says why no report",
        ["tests/test_reliability_storage.py::test_run_directory_turning_read_only_mid_run"],
    ),
    (
        "data loss",
        "a model output with a circular reference aborted the run",
        "written as strict JSON",
        ["corpus:run-output-circular"],
    ),
    (
        "data loss",
        "a model output with tuple keys aborted the run",
        "written as strict JSON",
        ["corpus:run-output-tuple-keys"],
    ),
    (
        "data loss",
        "a 250-character node id passed validation, then failed the output write",
        "exit 2 at validation",
        ["corpus:id-250-chars", "corpus:run-node-id-250"],
    ),
    # ------------------------------------------------------------------ leaks and hangs
    (
        "leaks",
        "after `kill -9` of `planner run` its workers kept running their 60 s node",
        "gone within 2 s",
        [f"{R}::test_worker_processes_do_not_outlive_a_killed_parent"],
    ),
    (
        "leaks",
        "`--workers 32` started 32 processes for a 4-node plan",
        "at most the width",
        [
            "tests/test_run_scheduler.py::test_the_executor_starts_no_more_workers_than_the_graph_can_use",
            "tests/test_run_scheduler.py::test_slots_follow_the_machine_and_never_exceed_the_width",
        ],
    ),
    (
        "hangs",
        "an LLM server dripping its reply hung the decomposer past 40 s",
        "total deadline",
        [
            f"{S}::test_a_dripping_server_cannot_stretch_the_deadline",
            f"{S}::test_dripping_headers_cannot_stretch_the_deadline",
        ],
    ),
    ("hangs", "YAML billion laughs in `args`", "refused < 1 s", ["corpus:yaml-laughs-args"]),
    (
        "hangs",
        "YAML billion laughs in `metadata`",
        "refused < 1 s",
        [
            "corpus:yaml-laughs-metadata",
            "tests/test_reliability_input.py::test_billion_laughs_is_refused_in_under_a_second",
        ],
    ),
    (
        "hangs",
        "a FIFO as the problem file hung",
        "refused without blocking",
        [
            "corpus:problem-fifo",
            "tests/test_reliability_input.py::test_fifo_is_refused_without_blocking",
        ],
    ),
    (
        "hangs",
        "`--time-limit nan` meant no limit",
        "exit 2",
        ["corpus:time-limit-nan", "corpus:time-limit-inf", "corpus:run-time-limit-nan"],
    ),
    (
        "hangs",
        "`--time-limit 1` took 10.7 s",
        "within the limit + 2 s",
        [
            "tests/test_reliability_solvers.py::test_solve_time_limit_bounds_the_whole_command",
            "tests/test_reliability_solvers.py::test_default_path_within_the_limit",
        ],
    ),
    # ------------------------------------------------------------------ crashes
    (
        "crash",
        "`1e308` energies (`OverflowError` in `fsum`)",
        "exit 2, supported range",
        ["corpus:1e308-energy_j", "corpus:1e308-budget"],
    ),
    ("crash", "`1e308` memories", "exit 2, supported range", ["corpus:1e308-memory_mb"]),
    (
        "crash",
        "deep JSON in problems (`RecursionError`)",
        "exit 2, levels deep",
        ["corpus:deep-json-array", "corpus:deep-json-object", "corpus:catalog-path-deep"],
    ),
    (
        "crash",
        "deep YAML in problems",
        "exit 2",
        ["corpus:deep-yaml-flow", "corpus:deep-yaml-block"],
    ),
    (
        "crash",
        "recursive YAML aliases in problems",
        "exit 2",
        ["corpus:yaml-recursive-alias-metadata", "corpus:yaml-recursive-alias-args"],
    ),
    (
        "crash",
        "deep JSON in LLM replies",
        "a reply error, then `error:`",
        [
            f"{S}::test_hostile_replies_are_reply_errors",
            f"{S}::test_deep_reply_goes_through_the_repair_round",
            f"{S}::test_deep_json_from_the_server_is_a_clear_error",
        ],
    ),
    (
        "crash",
        "deep YAML / recursive aliases in LLM configs",
        "exit 2",
        ["corpus:decompose-llm-config-deep", "corpus:decompose-llm-config-laughs"],
    ),
    (
        "crash",
        "`/dev/zero` as any input (`MemoryError`)",
        "exit 2, device file",
        [
            "corpus:problem-dev-zero",
            "corpus:catalog-path-dev-zero",
            "corpus:run-inputs-dev-zero",
            "corpus:decompose-llm-config-dev-zero",
            "corpus:eval-dev-zero",
            "corpus:report-dev-zero",
            "corpus:diff-dev-zero",
            "corpus:serve-catalog-dev-zero",
            "corpus:run-plan-dev-zero",
        ],
    ),
    (
        "crash",
        "rich markup in ids (`MarkupError`)",
        "refused or shown as text",
        ["corpus:id-markup"],
    ),
    ("crash", "rich markup in task names", "shown as text", ["corpus:task-name-markup-valid"]),
    (
        "crash",
        "rich markup in model errors",
        "shown as text",
        [f"{S}::test_markup_and_escapes_in_a_model_error_never_reach_the_terminal"],
    ),
    (
        "crash",
        "rich markup in LLM replies",
        "shown as text",
        [f"{S}::test_markup_and_escapes_in_an_llm_reply_never_reach_the_terminal"],
    ),
    (
        "crash",
        "a plan whose adapter `kind` is a dict or list (`TypeError`)",
        "exit 2",
        [
            "corpus:plan-adapter-kind-dict",
            "corpus:plan-adapter-kind-list",
            f"{U}::test_adapter_kind_that_is_not_a_string_is_refused",
        ],
    ),
    (
        "crash",
        "a plan missing a node (`KeyError`)",
        "exit 2",
        ["corpus:plan-missing-node", "corpus:plan-node-list-short", "corpus:plan-unknown-node"],
    ),
    (
        "crash",
        "`pareto --points 1e8` (`MemoryError`)",
        "exit 2",
        ["corpus:pareto-points-1e8", "corpus:pareto-max-points-huge"],
    ),
    (
        "crash",
        "`profiles update --last` huge (`OverflowError` into SQLite)",
        "exit 2",
        ["corpus:profiles-update-last-huge"],
    ),
    # ------------------------------------------------------------------ wrong results
    (
        "wrong",
        "`1e308` latencies gave an `optimal` plan with objective NaN",
        "exit 2, range",
        [
            "corpus:1e308-latency_ms",
            "tests/test_reliability_properties.py::test_in_range_rows_never_make_a_non_finite_total",
        ],
    ),
    (
        "wrong",
        "NaN/Infinity written into plan JSON",
        "refused, never written",
        [f"{S}::test_no_plan_is_written_with_nan", "corpus:plan-nan-objective"],
    ),
    (
        "wrong",
        "NaN/Infinity written into output JSON",
        "written as strings, strict JSON",
        ["corpus:run-output-nan"],
    ),
    (
        "wrong",
        "weights `1e308/1e308` refused as all zero",
        "equal weights",
        [
            f"{S}::test_huge_equal_weights_are_equal_weights_not_all_zero",
            "corpus:1e308-weights-valid",
        ],
    ),
    (
        "wrong",
        "node ids with a trailing newline accepted (`$` not `\\Z`)",
        "exit 2",
        [
            "corpus:id-trailing-newline",
            f"{S}::test_node_ids_use_fullmatch_and_are_capped",
            "tests/test_reliability_properties.py::"
            "test_a_node_id_is_accepted_iff_it_fullmatches_the_whitelist_within_128_chars",
        ],
    ),
    (
        "wrong",
        "a solver time-out in `whatif` reported as a user error, the analysis discarded",
        "analysis kept, `time_limit` rows",
        [
            f"{S}::test_whatif_keeps_its_analysis_when_a_runner_up_times_out",
            "tests/test_reliability_solvers.py::"
            "test_whatif_time_out_keeps_the_analysis_and_is_no_user_error",
        ],
    ),
    (
        "wrong",
        "a history with a bad schema turned a successful run into exit 2",
        "a warning, exit 0",
        [
            f"{S}::test_a_history_of_another_schema_does_not_fail_a_successful_run",
            "corpus:history-bad-schema",
        ],
    ),
    # ------------------------------------------------------------------ the new paths
    (
        "model processes",
        "a model subprocess killed with `kill -9` mid-run",
        "re-planned",
        [
            "tests/test_reliability_model_processes.py::"
            "test_kill_9_of_a_model_subprocess_mid_run_is_survived_by_replanning",
            "tests/test_reliability_model_processes.py::"
            "test_kill_9_of_a_worker_process_mid_node_is_survived_by_replanning",
        ],
    ),
    (
        "model processes",
        "a model that hangs, floods its output, segfaults",
        "killed, re-planned",
        [
            "tests/test_reliability_model_processes.py::test_a_hanging_model_subprocess_is_killed_at_its_timeout",
            "tests/test_reliability_model_processes.py::"
            "test_a_flooding_model_subprocess_is_stopped_at_its_output_bound",
            "tests/test_reliability_model_processes.py::test_a_dying_model_subprocess_is_replanned_around",
        ],
    ),
    (
        "serve",
        "100 MB bodies, slow and non-reading clients, overload",
        "413/408/503, dropped",
        [
            "tests/test_serve_flood.py::test_a_100_mb_body_is_refused_while_it_streams_not_after",
            "tests/test_serve_flood.py::test_a_body_that_stops_arriving_gets_408",
            "tests/test_serve_flood.py::test_a_connection_stalled_in_its_headers_is_closed",
            "tests/test_serve_flood.py::test_a_client_that_stops_reading_is_dropped",
            "tests/test_serve_flood.py::"
            "test_overload_is_shed_before_parsing_and_healthz_is_answered_ahead_of_routing",
            "tests/test_serve_flood.py::test_a_small_flood_is_shed_without_losing_accounting",
        ],
    ),
]


def render_checklist() -> list[str]:
    lines = [
        "## Issue 18's cases, one by one",
        "",
        "Each case the issue lists, what it does now, and the tests that replay it "
        "(`corpus:NAME` is a case of tests/reliability_corpus.py, replayed by "
        "tests/test_reliability_input.py::test_hostile_input and by the corpus rows above).",
        "",
        "| # | kind | case (as the issue states it) | now | regression tests |",
        "|---:|---|---|---|---|",
    ]
    for k, (group, case, now, tests) in enumerate(CHECKLIST, 1):
        shown = "<br>".join(f"`{t}`" for t in tests)
        lines.append(f"| {k} | {group} | {case} | {now} | {shown} |")
    lines.append("")
    return lines
