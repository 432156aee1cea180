import sys

from eeg2music.preprocess.subject import main

sys.exit(main())
