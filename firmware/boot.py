# camdiag boot.py: runs on every reset, before main.py.
import camdiag.boot

camdiag.boot.run()
