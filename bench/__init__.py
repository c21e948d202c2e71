"""formintake benchmarks: ``python -m bench`` (or ``./run bench``). Not tests: nothing here asserts a time.

Measures per-document extraction time and peak memory for a generated docx and PDF application, a
whole ``formintake check`` over the demo batch, and run 1 / unchanged run 2 of
``formintake.pipeline.run_campaign`` over a local folder. Prints a table, writes bench/results.json.
"""
