# acs-client from cron instead of the systemd timer acs-client-attest.timer
# (for hosts without systemd). To use it: uncomment the line below and, where
# systemd runs, "systemctl disable --now acs-client-attest.timer".
# --splay spreads a fleet's runs over 5 minutes; the client is silent on
# success, so cron mails only failures.
#*/10 * * * * root [ -x /usr/bin/acs-client ] && [ -e /var/lib/acs-client/enrollment.json ] && /usr/bin/acs-client attest --splay 300
