"""`llm-extract eval`: score predictions (or a backend run) against a gold set and compare runs.

I/O lives here; the scoring itself is `llm_extract.evaluation` (pure) and gold handling is
`llm_extract.gold`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import typer
from pydantic import BaseModel, ConfigDict, ValidationError
from rich import box
from rich.console import Console
from rich.table import Table

from ..atomic import write_text
from ..terminal import lit
from .options import ANSWER_FORMAT_HELP, PROMPT_VERSION_HELP
from ..evaluation import (
    LINK_THEME_THRESHOLDS,
    DocScore,
    EvalResult,
    RunInfo,
    Span,
    check_thresholds,
    compare,
    prediction_spans,
    score_document,
    score_links,
    score_themes,
    score_unaddressed,
)
from ..gold import GoldError, gold_files, gold_links, gold_themes, load_gold_file, locate_gold, report_index
from ..loaders import SUFFIXES, LoadError, load
from ..models import CATEGORIES, Report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class UsageError(Exception):
    """Bad flags or a bad suite file: exit 2 with one line."""


# ---------------------------------------------------------------------------------------------
# suites


class Suite(BaseModel):
    """An eval suite file (evals/*.toml): which gold, which reports, which backend, which floors.

    Relative paths resolve against `root`, itself relative to the suite file's folder; the default
    ".." makes them relative to the repository root for suites kept in `evals/`.
    """

    model_config = ConfigDict(extra="forbid")

    name: Optional[str] = None
    description: Optional[str] = None
    root: str = ".."
    gold: str
    reports: Optional[str] = None
    pred: Optional[str] = None
    backend: Optional[str] = None
    settings: dict[str, Any] = {}
    thresholds: dict[str, float] = {}


def load_suite(path: Path) -> tuple[Suite, Path]:
    """The suite and the directory its relative paths resolve against."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read suite {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"suite {path} is not valid TOML: {e}") from None
    try:
        suite = Suite.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise UsageError(f"suite {path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    for key, value in suite.thresholds.items():
        if key != "macro_span_f1" and key not in CATEGORIES and key not in LINK_THEME_THRESHOLDS:
            raise UsageError(
                f"suite {path}: unknown threshold '{key}' (use macro_span_f1, one of {', '.join(CATEGORIES)} "
                f"or one of {', '.join(LINK_THEME_THRESHOLDS)})"
            )
        if not 0 <= value <= 1:
            raise UsageError(f"suite {path}: threshold {key} = {value} is not between 0 and 1")
    return suite, (Path(path).parent / suite.root).resolve()


def parse_category_floor(spec: str) -> tuple[str, float]:
    """'problem=0.85' → ('problem', 0.85)."""
    cat, sep, value = spec.partition("=")
    cat = cat.strip()
    if not sep or cat not in CATEGORIES:
        raise UsageError(
            f"--min-category expects CATEGORY=F1 with CATEGORY one of {', '.join(CATEGORIES)}, got '{spec}'"
        )
    try:
        f = float(value)
    except ValueError:
        raise UsageError(f"--min-category {cat}: '{value}' is not a number") from None
    if not 0 <= f <= 1:
        raise UsageError(f"--min-category {cat}: {f} is not between 0 and 1")
    return cat, f


# ---------------------------------------------------------------------------------------------
# running an evaluation


@dataclass
class EvalConfig:
    gold: Path
    reports: Path
    pred: Optional[Path] = None
    backend: Optional[str] = None
    settings: dict[str, Any] = field(default_factory=dict)
    save_pred: Optional[Path] = None
    suite: Optional[Path] = None


def _one(values: set) -> Optional[str]:
    vals = sorted(str(v) for v in values if v is not None)
    return ",".join(vals) if vals else None


def run_eval(cfg: EvalConfig, err: Optional[Console] = None) -> EvalResult:
    """Score every gold document; failures are collected in `errors`, the rest still scored.

    A gold document whose report is missing or whose quotes are not verbatim is left out (it cannot
    be scored); a missing or failed prediction is scored as an empty one.
    """
    errors: list[str] = []
    docs: list[DocScore] = []
    extract = backend = None
    if cfg.pred is None:
        extract, backend = _backend(cfg)
    index = report_index(cfg.reports) if cfg.reports.is_dir() else {}
    files = gold_files(cfg.gold)
    seen: dict[str, set] = {"backend": set(), "model": set(), "prompt_version": set()}
    spend: dict[str, float] = {}

    progress = None
    if extract is not None and len(files) > 1 and err is not None:
        from rich.progress import Progress

        progress = Progress(console=err, transient=True)
        progress.start()
        task = progress.add_task("extracting", total=len(files))
    try:
        for path in files:
            try:
                gold = load_gold_file(path)
            except GoldError as e:
                errors.append(f"gold {e}")
                continue
            report_path = index.get(gold.doc_id)
            if report_path is None:
                errors.append(f"{gold.doc_id}: no report file named {gold.doc_id}.* in {cfg.reports}")
                continue
            try:
                doc = load(report_path)
            except LoadError as e:
                errors.append(f"{gold.doc_id}: cannot load {report_path}: {e}")
                continue
            try:
                spans = locate_gold(gold, doc.text)
            except GoldError as e:
                errors.append(f"gold {e}")
                continue
            pred, warn = _prediction(cfg, gold.doc_id, report_path, doc.sha256, extract, backend, errors)
            if pred is not None:
                _add_spend(spend, pred)
                seen["backend"].add(pred.backend)
                seen["model"].add(pred.model)
                seen["prompt_version"].add(pred.prompt_version)
            score = score_document(gold.doc_id, doc.text, spans, gold.meta, gold.indicators, pred)
            try:
                _score_links_and_themes(score, gold, doc.text, spans, pred)
            except GoldError as e:
                errors.append(f"gold {e}")
            if warn:
                score.warnings.insert(0, warn)
            docs.append(score)
            if progress is not None:
                progress.advance(task)
    finally:
        if progress is not None:
            progress.stop()

    run = RunInfo(
        gold=str(cfg.gold),
        reports=str(cfg.reports),
        pred=str(cfg.pred) if cfg.pred else None,
        suite=str(cfg.suite) if cfg.suite else None,
        backend=_one(seen["backend"]) or cfg.backend,
        model=_one(seen["model"]) or cfg.settings.get("model"),
        prompt_version=_one(seen["prompt_version"]) or cfg.settings.get("prompt_version"),
        prompt_tokens=spend.get("prompt_tokens"), completion_tokens=spend.get("completion_tokens"),
        cost=round(spend["cost"], 6) if "cost" in spend else None,
    )
    return EvalResult(run=run, docs=docs, errors=errors)


def _add_spend(spend: dict[str, float], pred: Report) -> None:
    """Tokens and cost of a prediction made with a model (a rules run has none to add)."""
    st = pred.stats
    if not (st.llm_calls or st.cached_calls or st.prompt_tokens):
        return
    for name in ("prompt_tokens", "completion_tokens", "cost"):
        spend[name] = spend.get(name, 0) + (getattr(st, name) or 0)


def _score_links_and_themes(score: DocScore, gold, text: str, spans: list[Span], pred: Optional[Report]) -> None:
    """Links the digest would make for the prediction, and the theme rules on the gold problems,
    against what the gold labels (only where it labels them)."""
    from ..links import report_links
    from ..themes import keyword_themes, load_taxonomy

    tax = load_taxonomy()
    if "links" in gold.model_fields_set:
        truth = gold_links(gold)
        pspans = prediction_spans(pred, text) if pred is not None else []
        problems = [s for s in pspans if s.category == "problem"]
        links = [(l.problem, l.measure) for l in report_links(pred, tax)] if pred is not None else []
        score.links = score_links(text, spans, truth, problems, [s for s in pspans if s.category == "measure"], links)
        score.unaddressed = score_unaddressed(text, spans, truth, problems, links)
    if gold.themes:
        labelled = gold_themes(gold, tax.ids)
        got = {i: keyword_themes(gold.items[i].quote, tax)[0] for i in labelled}
        score.themes = score_themes(labelled, got, tax.fallback.id)


def _backend(cfg: EvalConfig):
    """The pipeline's extract function and a configured backend (imported lazily: optional seams)."""
    try:
        from ..backends import get_backend, settings_for
        from ..pipeline import extract_path
    except ImportError as e:
        raise UsageError(f"running a backend needs the extraction pipeline, which failed to import: {e}") from None
    try:
        name = cfg.backend or "rules"
        return extract_path, get_backend(name, settings_for(name, cfg.settings))
    except Exception as e:  # noqa: BLE001 - a backend's own configuration error, shown as one line
        raise UsageError(f"backend '{cfg.backend}': {e}") from None


def _prediction(cfg, doc_id, report_path, sha256, extract, backend, errors) -> tuple[Optional[Report], str]:
    """The document's Report (None when missing or failed, with the reason in `errors`) and a warning."""
    if cfg.pred is not None:
        p = cfg.pred / f"{doc_id}.json"
        if not p.is_file():
            errors.append(f"{doc_id}: no prediction {p} (scored as empty)")
            return None, ""
        try:
            pred = Report.model_validate_json(p.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as e:
            msg = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e).splitlines()[0]
            errors.append(f"{doc_id}: prediction {p} is not a valid report ({msg}) (scored as empty)")
            return None, ""
        warn = ""
        if pred.sha256 and pred.sha256 != sha256:
            warn = "prediction was made on a different version of the report file (sha256 differs)"
        return pred, warn
    try:
        pred = extract(report_path, backend)
    except Exception as e:  # noqa: BLE001 - one failed document must not stop the set
        redact = getattr(backend, "redact", None) or str  # secrets the server echoed stay out
        errors.append(f"{doc_id}: extraction failed: {redact(str(e))} (scored as empty)")
        return None, ""
    if cfg.save_pred is not None:
        write_text(cfg.save_pred / f"{doc_id}.json", pred.to_json())
    return pred, ""


# ---------------------------------------------------------------------------------------------
# rendering


def _f(v: Optional[float]) -> str:
    return "—" if v is None else f"{v:.3f}"


def _d(v: Optional[float]) -> str:
    if v is None:
        return "—"
    color = "green" if v > 0.0005 else "red" if v < -0.0005 else "dim"
    return f"[{color}]{v:+.3f}[/{color}]"


def _n(v: Optional[float]) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.4f}"


def _spent(row) -> str:
    """B against A for a count or an amount: the difference and B as a share of A (less is green)."""
    if row.a is None or row.b is None:
        return "—"
    share = f" ({row.b / row.a:.0%})" if row.a else ""
    color = "green" if row.delta < 0 else "red" if row.delta > 0 else "dim"
    return f"[{color}]{row.delta:+,.{0 if float(row.delta).is_integer() else 4}f}{share}[/{color}]"


def run_label(run: RunInfo) -> str:
    parts = [p for p in (run.backend, run.model, f"prompt {run.prompt_version}" if run.prompt_version else None) if p]
    return " / ".join(parts) or (Path(run.pred).name if run.pred else "run")


def render_result(result: EvalResult, console: Console, per_doc: bool = True) -> None:
    cats = result.categories
    t = Table(title=f"Per category, pooled over {len(result.docs)} document(s) — {lit(run_label(result.run))}",
              box=box.SIMPLE_HEAD, show_edge=False)
    t.add_column("category", no_wrap=True)
    for col in ("span\nP", "span\nR", "span\nF1", "item\nP", "item\nR", "item\nF1", "items\ngold/pred"):
        t.add_column(col, justify="right", no_wrap=True)
    for cat in CATEGORIES:
        s, i = cats[cat].span, cats[cat].items
        t.add_row(cat, _f(s.precision), _f(s.recall), _f(s.f1),
                  _f(i.precision), _f(i.recall), _f(i.f1), f"{i.gold}/{i.pred}")
    t.add_row("[bold]macro[/bold]", "", "", f"[bold]{_f(result.macro_span_f1)}[/bold]",
              "", "", _f(result.macro_item_f1), "")
    console.print(t)

    if per_doc and result.docs:
        d = Table(title="Per document (span F1; a category absent from both sides is —)", box=box.SIMPLE_HEAD,
                  show_edge=False)
        d.add_column("document", overflow="fold")
        for col in ("goal", "achv.", "prob.", "meas.", "span\nmacro", "item\nmacro", "meta", "indic.\nF1"):
            d.add_column(col, justify="right", no_wrap=True)
        for doc in result.docs:
            name = lit(doc.doc_id) + (" [red](no prediction)[/red]" if doc.missing_prediction else "")
            cells = [_f(doc.categories[c].span.f1) if c in doc.categories else "—" for c in CATEGORIES]
            meta = f"{doc.meta.correct}/{doc.meta.total}" if doc.meta.total else "—"
            d.add_row(name, *cells, _f(doc.macro_span_f1), _f(doc.macro_item_f1), meta, _f(doc.indicators.f1))
        console.print(d)

    m = result.meta
    fields = ", ".join(f"{k} {_f(v)}" for k, v in m.by_field.items() if v is not None)
    console.print(f"meta accuracy: {m.correct}/{m.total} = {_f(m.accuracy)}" + (f" ({fields})" if fields else ""))
    ind = result.indicators
    console.print(
        f"indicator rows: P {_f(ind.precision)}  R {_f(ind.recall)}  F1 {_f(ind.f1)}"
        f"  (gold {ind.gold}, predicted {ind.pred}, matched {ind.gold_found})"
    )
    lk = result.links
    if lk.gold or lk.pred:
        console.print(
            f"problem→measure links: P {_f(lk.precision)}  R {_f(lk.recall)}  F1 {_f(lk.f1)}"
            f"  (gold {lk.gold}, predicted {lk.pred}, correct {lk.pred_correct}, found {lk.gold_found})"
        )
    un = result.unaddressed
    if un.gold or un.pred:
        console.print(
            f"unaddressed problems (no link): listed {un.pred}, gold {un.gold};"
            f" listed and unaddressed in the gold {un.pred_correct} (P {_f(un.precision)}),"
            f" gold ones listed {un.gold_found} (R {_f(un.recall)})"
        )
    th = result.themes
    if th.total:
        console.print(
            f"problem themes: accuracy {_f(th.accuracy)} ({th.correct}/{th.total}),"
            f" in the fallback {_f(th.other_share)} ({th.other})"
        )
    for doc in result.docs:
        for w in doc.warnings:
            console.print(f"{lit(doc.doc_id)}: {lit(w)}", style="yellow", highlight=False)
    console.print(f"[bold]macro span F1 (headline): {_f(result.macro_span_f1)}[/bold]")


def render_comparison(a: EvalResult, b: EvalResult, console: Console, a_name: str) -> None:
    t = Table(title="Baseline (A) vs this run (B)", box=box.SIMPLE_HEAD, show_edge=False)
    t.add_column("metric")
    t.add_column(f"A: {lit(a_name)} ({lit(run_label(a.run))})", justify="right")
    t.add_column(f"B: {lit(run_label(b.run))}", justify="right")
    t.add_column("Δ (B − A)", justify="right")
    for row in compare(a, b):
        if row.spend:
            t.add_row(lit(row.metric), _n(row.a), _n(row.b), _spent(row))
        else:
            t.add_row(lit(row.metric), _f(row.a), _f(row.b), _d(row.delta))
    console.print(t)


# ---------------------------------------------------------------------------------------------
# the command


def eval_command(
    gold: Optional[Path] = typer.Option(
        None, "--gold", help="Folder of gold <doc_id>.json files (LABELING.md format).", file_okay=False
    ),
    pred: Optional[Path] = typer.Option(
        None, "--pred", help="Folder of predicted <doc_id>.json reports (the output of `llm-extract extract -o`).",
        file_okay=False,
    ),
    reports: Optional[Path] = typer.Option(
        None, "--reports", help="Folder of the report files the gold was labelled on, matched by file stem "
        "(default: the 'reports' folder beside the gold folder).", file_okay=False,
    ),
    backend: Optional[str] = typer.Option(
        None, "--backend", help="Run this backend (rules, openai, …) on the reports instead of reading --pred."
    ),
    model: Optional[str] = typer.Option(None, "--model", help="Model name passed to the backend."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible base URL for the backend."),
    prompt_version: Optional[str] = typer.Option(None, "--prompt-version", help=PROMPT_VERSION_HELP),
    answer_format: Optional[str] = typer.Option(None, "--answer-format", help=ANSWER_FORMAT_HELP),
    suite: Optional[Path] = typer.Option(
        None, "--suite", help="Eval suite TOML (evals/*.toml): gold, reports, backend, settings, thresholds. "
        "Flags given on the command line override it.", dir_okay=False,
    ),
    json_out: Optional[Path] = typer.Option(
        None, "--json", help="Write the full result (every count and score) to this JSON file."
    ),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="An earlier --json result: print its figures next to this run's with deltas.",
        dir_okay=False,
    ),
    min_f1: Optional[float] = typer.Option(
        None, "--min-f1", min=0.0, max=1.0, help="Exit 1 when the headline macro span F1 is below this."
    ),
    min_category: Optional[list[str]] = typer.Option(
        None, "--min-category", metavar="CATEGORY=F1", help="Per-category span F1 floor, CATEGORY=F1 (e.g. problem=0.85); repeatable."
    ),
    save_pred: Optional[Path] = typer.Option(
        None, "--save-pred", help="With --backend: also write each report's JSON here, reusable later as --pred.",
        file_okay=False,
    ),
    per_doc: bool = typer.Option(True, "--docs/--no-docs", help="Show the per-document table."),
) -> None:
    """Score extraction against hand-labelled gold: span and item P/R/F1 per category, meta, indicators."""
    out, err = Console(), Console(stderr=True, soft_wrap=True)  # paths in errors stay whole
    try:
        cfg, threshold, floors = resolve_config(
            gold=gold, pred=pred, reports=reports, backend=backend, suite=suite, save_pred=save_pred,
            cli_settings={"model": model, "base_url": base_url, "prompt_version": prompt_version,
                          "answer_format": answer_format},
            min_f1=min_f1, min_category=min_category or [],
        )
        base = _load_baseline(baseline) if baseline is not None else None
        result = run_eval(cfg, err)
    except UsageError as e:
        err.print(f"[red]error:[/red] {lit(e)}", highlight=False)
        raise typer.Exit(2) from None

    for e in result.errors:
        err.print(lit(e, multiline=True), style="red", highlight=False)
    render_result(result, out, per_doc=per_doc)
    if base is not None:
        render_comparison(base, result, out, baseline.name)  # type: ignore[union-attr]
    if json_out is not None:
        write_text(json_out, json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))

    limits = {k: floors.pop(k) for k in list(floors) if k in LINK_THEME_THRESHOLDS}
    fails = check_thresholds(result, threshold, floors, limits)
    for f in fails:
        err.print(f"[red]below threshold:[/red] {lit(f)}", highlight=False)
    if fails or result.errors:
        raise typer.Exit(1)


def _load_baseline(path: Path) -> EvalResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "docs" not in data or "macro_span_f1" not in data:
            raise ValueError("no docs or macro_span_f1")
        return EvalResult.model_validate(data)
    except (OSError, ValueError) as e:
        raise UsageError(f"baseline {path} is not an `eval --json` result: {str(e).splitlines()[0]}") from None


def _check_predictions(pred_dir: Path, gold_dir: Path) -> None:
    """A prediction folder must hold results for the gold documents: pointed at the reports or
    the gold folder by mistake, every document would be scored as empty (a table of zeros)."""
    if pred_dir.resolve() == gold_dir.resolve():
        raise UsageError(f"--pred {pred_dir} is the gold folder; give the folder `llm-extract extract -o` wrote")
    ids = [p.stem for p in gold_files(gold_dir)]
    if any((pred_dir / f"{i}.json").is_file() for i in ids):
        return
    found = sorted({p.suffix.lower() for p in pred_dir.iterdir() if p.is_file()} & set(SUFFIXES))
    what = (f"it holds report files ({' '.join(found)}), not results — is it the reports folder?" if found
            else "no result file there matches a gold document.")
    raise UsageError(f"--pred {pred_dir}: no <doc_id>.json for any of the {len(ids)} gold documents; {what} "
                     "Give the folder `llm-extract extract -o` wrote (or run a backend with --backend)")


def resolve_config(
    *,
    gold: Optional[Path],
    pred: Optional[Path],
    reports: Optional[Path],
    backend: Optional[str],
    suite: Optional[Path],
    save_pred: Optional[Path],
    cli_settings: dict[str, Optional[str]],
    min_f1: Optional[float],
    min_category: list[str],
) -> tuple[EvalConfig, Optional[float], dict[str, float]]:
    """Flags over the suite file: what to score, how, and the floors. Raises UsageError."""
    if suite is not None:
        s, root = load_suite(suite)
    else:
        s, root = Suite(gold=""), Path.cwd()

    def path(flag: Optional[Path], value: Optional[str]) -> Optional[Path]:
        return flag if flag is not None else (root / value if value else None)

    if pred is not None and backend is not None:
        raise UsageError("give either --pred DIR (score saved predictions) or --backend NAME (run a backend), not both")
    gold_dir = path(gold, s.gold)
    if gold_dir is None:
        raise UsageError("give --gold DIR (or --suite FILE)")
    if not gold_dir.is_dir():
        raise UsageError(f"gold folder {gold_dir} does not exist")
    if not gold_files(gold_dir):
        raise UsageError(f"no gold <doc_id>.json files in {gold_dir}")
    reports_dir = path(reports, s.reports) or gold_dir.parent / "reports"
    if not reports_dir.is_dir():
        raise UsageError(f"reports folder {reports_dir} does not exist (give --reports DIR)")
    pred_dir = pred if pred is not None or backend is not None else path(None, s.pred)
    backend_name = None if pred_dir is not None else (backend or s.backend)
    if pred_dir is None and backend_name is None:
        raise UsageError("give --pred DIR (saved predictions) or --backend NAME (run a backend on the reports)")
    if pred_dir is not None and not pred_dir.is_dir():
        raise UsageError(f"prediction folder {pred_dir} does not exist")
    if pred_dir is not None:
        _check_predictions(pred_dir, gold_dir)
    if pred_dir is not None and save_pred is not None:
        raise UsageError("--save-pred only applies when a backend runs (--backend)")
    settings = {**s.settings, **{k: v for k, v in cli_settings.items() if v is not None}}

    floors = {k: v for k, v in s.thresholds.items() if k != "macro_span_f1"}
    floors.update(parse_category_floor(spec) for spec in min_category)
    threshold = min_f1 if min_f1 is not None else s.thresholds.get("macro_span_f1")
    cfg = EvalConfig(gold=gold_dir, reports=reports_dir, pred=pred_dir, backend=backend_name,
                     settings=settings if pred_dir is None else {}, save_pred=save_pred, suite=suite)
    return cfg, threshold, floors
