/* evbase header check: stand-in for the regress.gen.h that libevent's
 * build generates from test/regress.rpc with event_rpcgen.py.  libevent's
 * own build writes exactly this when Python is missing, and regress.c then
 * leaves out its RPC tests, which evbase (the event core) has no part in.
 */
#define NO_PYTHON_EXISTS
