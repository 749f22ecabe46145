"""``python -m descartes_nb.cli``: the ``descartes-nb`` command."""

from . import main

raise SystemExit(main())
