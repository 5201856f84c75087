#include "config.h"
#include "check_main.h"
#include "fake.h"
static Suite *s_(void){TCase *tc; return check_suite("x","y",&tc);}
CHECK_MAIN(s_(), CK_FORK_GETENV)
