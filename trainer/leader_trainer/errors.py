"""Bad input ends the run with one line on stderr and exit status 2, before anything is written."""


class TrainerInputError(Exception):
    """A problem with the user's input (dataset, teacher features, checkpoint): one-line message."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message.replace("\n", " "))
