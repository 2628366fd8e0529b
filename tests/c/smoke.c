/* Compiled and run by tests/c_abi.rs against the cdylib and the generated header. */
#include <stdio.h>
#include <string.h>
#include "consul_connect.h"

int main(void) {
    char service[64];
    char err[256];
    printf("version=%s\n", ccn_version());

    CcnStatus s = ccn_parse_service_spiffe_id(
        "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web",
        service, sizeof service);
    if (s != CCN_OK) { fprintf(stderr, "unexpected status %d\n", (int)s); return 1; }
    printf("service=%s\n", service);

    s = ccn_parse_service_spiffe_id("spiffe://td/agent/client/dc/dc1/id/n", service, sizeof service);
    size_t n = ccn_last_error(err, sizeof err);
    printf("bad=%d len=%zu error=%s\n", (int)s, n, err);

    char tiny[2];
    s = ccn_parse_service_spiffe_id("spiffe://td/ns/default/dc/dc1/svc/web", tiny, sizeof tiny);
    printf("small=%d\n", (int)s);

    s = ccn_parse_service_spiffe_id(NULL, service, sizeof service);
    printf("null=%d\n", (int)s);
    return 0;
}
