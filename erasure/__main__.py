from erasure.cli import main

raise SystemExit(main())
