import sys

from eeg2music.train.engine import cli

sys.exit(cli())
