# camdiag main.py: the application. Ctrl-C (or a host session) returns to the REPL.
import camdiag.boot

if not camdiag.boot.SAFE_MODE:
    import camdiag.app

    camdiag.app.main()
