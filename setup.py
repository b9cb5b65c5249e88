"""The one thing pyproject.toml cannot declare without a warning: the C extension.

`dolmakit._textstats` (the rule taggers' statistics and the pii scan), `dolmakit._suffix` (the
span index's searches) and `dolmakit._bpe` (cl100k_base token counts) are optional: without a C
compiler and the Python headers the build goes on and dolmakit uses their pure-Python
references (for `_bpe`, bpe-openai's counter).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dolmakit._textstats",
            sources=["dolmakit/_textstats.c"],
            optional=True,
            # no fused multiply-add: float results equal numpy's and scikit-learn's everywhere
            extra_compile_args=["-O2", "-ffp-contract=off"],
        ),
        Extension(
            "dolmakit._bpe",
            sources=["dolmakit/_bpe.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "dolmakit._suffix",
            sources=["dolmakit/_suffix.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
