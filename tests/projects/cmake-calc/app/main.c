#include <stdio.h>
#include "calc/calc.h"
int main(void) {
    printf("calc %s: 2 + 3 = %d, 6 * 7 = %d\n", CALC_VERSION, calc_add(2, 3), calc_mul(6, 7));
    return 0;
}
