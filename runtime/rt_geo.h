/* rt_geo.h - a visitor's country from their address (product.md 2), with
 * Debian's geoip-database (/usr/share/GeoIP/GeoIP.dat, GeoIPv6.dat) read by
 * libGeoIP into memory once: lookups are then read-only and thread-safe. */
#ifndef RT_GEO_H
#define RT_GEO_H

#include <stdbool.h>

typedef struct rt_geo rt_geo;

/* Opens the databases; NULL (and countries stay unknown) when absent. */
rt_geo *rt_geo_open(void);
void rt_geo_close(rt_geo *g);
/* The ISO country code of an IPv4 or IPv6 address ("PL"), or false for
 * private, loopback and unknown addresses. */
bool rt_geo_country(rt_geo *g, const char *addr, char out[3]);

#endif
