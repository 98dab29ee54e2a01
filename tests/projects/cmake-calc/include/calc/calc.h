#ifndef CALC_CALC_H
#define CALC_CALC_H
#define CALC_VERSION "1.0"
int calc_add(int a, int b);
int calc_mul(int a, int b);
#endif
