/* rt_geo.c - see rt_geo.h. */
#include <GeoIP.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_geo.h"

struct rt_geo {
    GeoIP *v4, *v6;
};

rt_geo *rt_geo_open(void)
{
    rt_geo *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    /* GEOIP_SILENCE: a missing file is not an error worth a line on stderr */
    g->v4 = GeoIP_open_type(GEOIP_COUNTRY_EDITION, GEOIP_MEMORY_CACHE | GEOIP_SILENCE);
    g->v6 = GeoIP_open_type(GEOIP_COUNTRY_EDITION_V6, GEOIP_MEMORY_CACHE | GEOIP_SILENCE);
    if (!g->v4 && !g->v6) {
        free(g);
        return NULL;
    }
    return g;
}

void rt_geo_close(rt_geo *g)
{
    if (!g)
        return;
    if (g->v4)
        GeoIP_delete(g->v4);
    if (g->v6)
        GeoIP_delete(g->v6);
    free(g);
}

bool rt_geo_country(rt_geo *g, const char *addr, char out[3])
{
    if (!g || !addr)
        return false;
    const char *code = strchr(addr, ':') ? (g->v6 ? GeoIP_country_code_by_addr_v6(g->v6, addr) : NULL)
                                         : (g->v4 ? GeoIP_country_code_by_addr(g->v4, addr) : NULL);
    if (!code || strlen(code) != 2 || strcmp(code, "--") == 0)
        return false;
    snprintf(out, 3, "%s", code);
    return true;
}
