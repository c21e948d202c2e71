"""The steps of a run after every version is processed, in order, each a module with one job:

    link     version documents -> applications (chains of corrections)         steps.link
    judge    batch rules, waivers, record status, quota use                     steps.judge
    compare  with the previous run: new / persisting / resolved findings        steps.compare
    publish  records, reports, ``latest/`` and the run history                  steps.publish

:mod:`formintake.pipeline` runs them in that order.
"""
