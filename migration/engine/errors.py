"""The one exception type for fatal problems."""


class EngineError(Exception):
    """A fatal input or settings problem.

    The message is one line that says what is wrong and what to do; the command
    line prints it as is and the web app shows it to the user.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self.args[0])
