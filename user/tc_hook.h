/* SPDX-License-Identifier: MIT */
/*
 * tc_hook.h - BPF programs on an interface's clsact hook, for the test tools
 * that shape a link (tools/impair.c, natrebind.c, vlantag.c).
 */
#ifndef BEAM_TC_HOOK_H
#define BEAM_TC_HOOK_H

/*
 * Put the programs @ingress_fd and @egress_fd (-1: none) on @dev's clsact
 * hook, creating it if needed, as filter handle 1 priority 1. Failures are
 * logged naming @what (the tool's programs). Returns 0, -ENODEV, or -errno;
 * on failure a filter already attached stays: tc_hook_detach() clears it.
 */
int tc_hook_attach(const char *dev, const char *what, int ingress_fd, int egress_fd);

/* Remove @dev's clsact hook and every filter on it. Returns 0, -ENODEV or -errno. */
int tc_hook_detach(const char *dev);

#endif /* BEAM_TC_HOOK_H */
