"""The whole pipeline from one file: `dolmakit run PIPELINE.yaml` (docs/pipeline.md)."""

from dolmakit.pipeline.run import PipelineReport, StageReport, run_pipeline
from dolmakit.pipeline.spec import Pipeline, load_pipeline

__all__ = ["Pipeline", "PipelineReport", "StageReport", "load_pipeline", "run_pipeline"]
