"""The one exception a user's model can cause on our side."""


class ModelError(ValueError):
    """A submitted model cannot be used as it is; the message says why and how to fix it.

    It subclasses ``ValueError`` so callers that already catch bad input keep working,
    while the scorer can tell a model's fault (report it to the user) from our own bugs.

    Examples
    --------
    >>> try:
    ...     raise ModelError("model 'm' has no layer 'x'")
    ... except ValueError as error:
    ...     print(error)
    model 'm' has no layer 'x'
    """
