"""``hotline classifier``: train the taxonomy model, evaluate an artifact, cross-validate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from hotline.classifier.csvdata import read_feedback, read_labelled_csv, read_mapping
from hotline.classifier.emergency_head import EmergencyExample
from hotline.classifier.metrics import EvalReport, format_report
from hotline.classifier.taxonomy import Taxonomy
from hotline.classifier.utterances import Utterance
from hotline.encoders.base import Encoder
from hotline.encoders.factory import BACKENDS, USE_ONNX, encoder_for_name, load_encoder
from hotline.errors import HotlineError

DEFAULT_MODEL_PATH = Path(".data/models/classifier")


def _say(message: str) -> None:
    click.echo(message, err=True)


def _encoder(backend: str, model: str | None) -> Encoder | None:
    if backend == "none":
        return None
    try:
        return load_encoder(backend, model)
    except HotlineError as e:
        raise click.UsageError(e.message) from e


def _emit(report: EvalReport, as_json: bool) -> None:
    click.echo(format_report(report))
    if as_json:
        # the last line is machine-readable on purpose: scripts take `tail -n 1`
        click.echo(json.dumps(report.summary(), ensure_ascii=False))


encoder_option = click.option(
    "--encoder",
    "encoder_backend",
    type=click.Choice([*BACKENDS, "none"]),
    default=USE_ONNX,
    show_default=True,
    help="sentence encoder for the embedding head ('none': lexical evidence only)",
)
encoder_model_option = click.option(
    "--encoder-model", default=None, help="model name/path for the encoder backend"
)
data_options = [
    click.option(
        "--data",
        "data_file",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="labelled CSV (UTF-8, header row)",
    ),
    click.option("--text-column", required=True, help="column with the message text"),
    click.option("--label-column", required=True, help="column with the gold label"),
    click.option("--json", "as_json", is_flag=True, help="end with one JSON line of the figures"),
]


def _with_data_options(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(data_options):
        function = option(function)
    return function


@click.group()
def classifier() -> None:
    """Train, evaluate and cross-validate the request classifier."""


@classifier.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MODEL_PATH,
    show_default=True,
    help="artifact directory to write",
)
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=(
        "directory with taxonomy.yml, utterances/*.csv and optionally emergency/*.csv "
        "(default: the packaged data)"
    ),
)
@click.option(
    "--feedback",
    type=click.Path(dir_okay=False, path_type=Path),
    help="agents' corrections: CSV with text,subcategory columns",
)
@encoder_option
@encoder_model_option
def train(
    out: Path,
    data_dir: Path | None,
    feedback: Path | None,
    encoder_backend: str,
    encoder_model: str | None,
) -> None:
    """Train the taxonomy classifier and write its artifact."""
    from hotline.classifier.artifact import artifact_version
    from hotline.classifier.taxonomy_training import train_taxonomy_model

    corrections = read_feedback(feedback) if feedback else []
    try:
        taxonomy, utterances = _training_data(data_dir)
        emergencies = _emergency_examples(data_dir)
        encoder = _encoder(encoder_backend, encoder_model)
        model = train_taxonomy_model(
            taxonomy=taxonomy,
            utterances=utterances,
            feedback=corrections,
            emergencies=emergencies,
            encoder=encoder,
            progress=_say,
        )
        model.save(out)
    except HotlineError as e:
        raise click.ClickException(e.message) from e
    click.echo(f"wrote {out} (version {artifact_version(out)}, taxonomy {taxonomy.version})")


def _training_data(data_dir: Path | None) -> tuple[Taxonomy, list[Utterance]]:
    from hotline.classifier.taxonomy import load_taxonomy
    from hotline.classifier.utterances import load_utterances

    if data_dir is None:
        taxonomy = load_taxonomy()
        return taxonomy, load_utterances(taxonomy=taxonomy)
    # a site's own taxonomy need not have the reference 27/266 shape
    taxonomy = load_taxonomy(data_dir / "taxonomy.yml", expected_counts=None)
    return taxonomy, load_utterances(data_dir / "utterances", taxonomy=taxonomy)


def _emergency_examples(data_dir: Path | None) -> list[EmergencyExample]:
    """A site's own ``emergency/*.csv`` when its data directory has them, else the packaged."""
    from hotline.classifier.emergency_head import load_emergency_examples

    if data_dir is not None and (data_dir / "emergency").is_dir():
        return load_emergency_examples(data_dir / "emergency")
    return load_emergency_examples()


@classifier.command("eval")
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="artifact directory written by 'classifier train'",
)
@_with_data_options
@click.option(
    "--map",
    "map_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML mapping category/subcategory codes to the file's labels",
)
@click.option(
    "--taxonomy",
    "taxonomy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="taxonomy.yml the model was trained on (default: the packaged one)",
)
def eval_command(
    model_path: Path,
    data_file: Path,
    text_column: str,
    label_column: str,
    as_json: bool,
    map_file: Path | None,
    taxonomy_file: Path | None,
) -> None:
    """Evaluate a trained artifact on a labelled CSV, timing each single-message prediction."""
    from hotline.classifier.artifact import read_manifest
    from hotline.classifier.evaluation import evaluate_model
    from hotline.classifier.labels import projection_for
    from hotline.classifier.model import TextClassifier
    from hotline.classifier.taxonomy import load_taxonomy

    texts, gold = read_labelled_csv(data_file, text_column, label_column)
    try:
        manifest = read_manifest(model_path)
        taxonomy = None
        if manifest.get("taxonomy_version") is not None:
            taxonomy = load_taxonomy(taxonomy_file, expected_counts=None)
        encoder_spec = manifest.get("encoder")
        encoder = None if encoder_spec is None else encoder_for_name(str(encoder_spec["name"]))
        model = TextClassifier.load(
            model_path,
            encoder=encoder,
            expected_taxonomy_version=None if taxonomy is None else taxonomy.version,
        )
    except HotlineError as e:
        raise click.ClickException(e.message) from e
    mapping = read_mapping(map_file) if map_file else None
    gold, project = projection_for(gold, model.labels, taxonomy, mapping)
    _emit(evaluate_model(model, texts, gold, project, progress=_say), as_json)


@classifier.command()
@_with_data_options
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option(
    "--min-count",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="drop labels with fewer examples (too rare to learn or to measure)",
)
@click.option("--no-encoder", is_flag=True, help="lexical evidence only (same as --encoder none)")
@encoder_option
@encoder_model_option
def cv(
    data_file: Path,
    text_column: str,
    label_column: str,
    as_json: bool,
    folds: int,
    min_count: int,
    no_encoder: bool,
    encoder_backend: str,
    encoder_model: str | None,
) -> None:
    """Cross-validate this classifier design on any labelled CSV (stratified k-fold)."""
    from collections import Counter

    from hotline.classifier.evaluation import cross_validate

    texts, labels = read_labelled_csv(data_file, text_column, label_column)
    counts = Counter(labels)
    rare = sorted(label for label, n in counts.items() if n < min_count)
    if rare:
        _say(f"dropping {len(rare)} labels with fewer than {min_count} examples: {', '.join(rare)}")
        keep = [i for i, label in enumerate(labels) if counts[label] >= min_count]
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    if len(set(labels)) < 2:
        raise click.UsageError(f"{data_file}: fewer than two labels with {min_count}+ examples")
    encoder = _encoder("none" if no_encoder else encoder_backend, encoder_model)
    report = cross_validate(texts, labels, folds=folds, encoder=encoder, progress=_say)
    _emit(report, as_json)


if __name__ == "__main__":  # `python -m hotline.classifier.cli ...` before the main CLI mounts it
    classifier()
