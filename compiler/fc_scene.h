/* fc_scene.h - the world a VM host plays when a person or a transcript is
 * the visitor (`flowc test`, `flowc run`): the clock, the agents online and
 * the visitor's facts, with the defaults and the KEY=VALUE syntax of spec
 * section 12 (`@time`, `@agents`, `@visitor` / `/time`, `/agents`,
 * `/visitor`). */
#ifndef FC_SCENE_H
#define FC_SCENE_H

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

enum { FC_FACT_NAME, FC_FACT_EMAIL, FC_FACT_PAGE, FC_FACT_DEVICE, FC_FACT_COUNTRY, FC_NFACTS };

typedef struct fc_scene {
    const vm_program *prog;
    bool fixed_time; /* false: the real clock */
    int64_t now;
    uint32_t agents; /* online for every team */
    char *fact[FC_NFACTS];
    vm_visitor visitor;
} fc_scene;

/* Transcript defaults: 1 agent, page "/", device "desktop", other facts
 * empty; with fixed_time the clock is Monday 2026-01-05 12:00 in the flow's
 * zone, else the real clock. */
void fc_scene_init(fc_scene *s, const vm_program *prog, bool fixed_time);
void fc_scene_free(fc_scene *s);

/* "YYYY-MM-DD HH:MM", local time in the zone of the flow's hours. */
bool fc_scene_set_time(fc_scene *s, const char *arg);
/* A count of agents. */
bool fc_scene_set_agents(fc_scene *s, const char *arg);
/* KEY=VALUE pairs (name, email, page, device, country, returning), values
 * with spaces in double quotes with \" and \\; `arg` is modified. Returns
 * NULL, or what is wrong. */
const char *fc_scene_set_visitor(fc_scene *s, char *arg);

/* A vm_host answering from the scene: the clock, agents and visitor facts,
 * with outputs going to `emit`. The host's ctx is the scene itself, so the
 * caller's struct must begin with its fc_scene to find itself in `emit`. */
vm_host fc_scene_host(fc_scene *s, void (*emit)(void *ctx, const vm_event *ev));

#endif
