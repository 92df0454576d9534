/* test_rt_geo.c - countries from Debian's geoip-database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rt_geo.h"

static void test_known_addresses(void **state)
{
    (void)state;
    rt_geo *g = rt_geo_open();
    assert_non_null(g); /* scripts/deps.sh installs geoip-database */
    char cc[3];
    assert_true(rt_geo_country(g, "8.8.8.8", cc));
    assert_string_equal(cc, "US");
    assert_true(rt_geo_country(g, "212.77.98.9", cc)); /* wp.pl */
    assert_string_equal(cc, "PL");
    assert_true(rt_geo_country(g, "2001:4860:4860::8888", cc));
    assert_string_equal(cc, "US");
    rt_geo_close(g);
}

static void test_private_and_bad_addresses(void **state)
{
    (void)state;
    rt_geo *g = rt_geo_open();
    char cc[3] = "";
    assert_false(rt_geo_country(g, "127.0.0.1", cc));
    assert_false(rt_geo_country(g, "10.1.2.3", cc));
    assert_false(rt_geo_country(g, "::1", cc));
    assert_false(rt_geo_country(g, "not an address", cc));
    assert_false(rt_geo_country(g, NULL, cc));
    assert_false(rt_geo_country(NULL, "8.8.8.8", cc));
    rt_geo_close(g);
    rt_geo_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_addresses),
        cmocka_unit_test(test_private_and_bad_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
