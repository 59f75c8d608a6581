"""The steps of the Q&A, one module each; `knowledge.qa.STEPS` runs them in order.

Every step module has `answer(query, scope) -> Answer | None`: an answer when it recognises the
question, None to pass it on. Helpers several steps share are in `common`, the calibrated numbers in
`calibration`.
"""
