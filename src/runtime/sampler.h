/* sampler.h — what the sampler exposes inside libowl besides owl_sampler_*
 * (include/owl.h): the penalty step alone, so tests can check its exact
 * arithmetic. */
#ifndef OWL_RUNTIME_SAMPLER_H
#define OWL_RUNTIME_SAMPLER_H

#include "owl.h"

/* out (V) = logits (V) after the repetition, frequency and presence
 * penalties for the tokens accepted so far: exactly what
 * owl_sampler_sample starts from. out may equal logits. */
void sampler_penalize(const owl_sampler *s, const float *logits, float *out);

#endif
