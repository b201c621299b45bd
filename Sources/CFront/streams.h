#ifndef HOPS_FRONT_STREAMS_H
#define HOPS_FRONT_STREAMS_H

/// The command's stdin, stdout and stderr for a direct run (stdin may be a
/// new /dev/null, which the caller closes); 0 when one of them cannot be
/// passed or a terminal is wanted, and the run must go through hops-cli.
int front_streams(int interactive, int no_interactive, int streams[3]);

#endif
