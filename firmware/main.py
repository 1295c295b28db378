# camdiag main.py: the application. Ctrl-C (or a host session) returns to the REPL.
import camdiag.app

camdiag.app.main()
