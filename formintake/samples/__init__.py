"""Sample 申报书 generator: realistic filled forms (docx / PDF) with known truth, and defective ones.

    from formintake.samples import base_values, render_docx, RenderStyle, make_defect, demo_batch
"""

from formintake.samples.batch import demo_batch, main_samples, write_samples
from formintake.samples.defects import DEFECT_CODES, apply_defect, defect_samples, make_defect
from formintake.samples.render import SYSTEM_PACKAGES, RenderStyle, pick_style, render_docx, render_pdf
from formintake.samples.sample import Sample, build_sample
from formintake.samples.values import Raw, base_values, truth_of, uscc_is_valid
from formintake.samples.wordml import WordMarkup, render_wordml

__all__ = [
    "DEFECT_CODES", "SYSTEM_PACKAGES", "Raw", "RenderStyle", "Sample", "apply_defect", "base_values", "build_sample",
    "defect_samples", "demo_batch", "main_samples", "make_defect", "pick_style", "render_docx", "render_pdf",
    "truth_of", "uscc_is_valid", "write_samples", "WordMarkup", "render_wordml",
]
