"""The office's read model (创建办): progress, 通报, dashboard views, statistics, coverage,
integrity flags and exports, over one :class:`office.scope.Scope`.

Plain Python over the study core (:mod:`quizzes`); never imports streamlit. Every
function here reads, except :func:`office.notices.freeze_notice`, which stores a notice.
"""
