#include <stdio.h>
#include "greet.h"
int main(int argc, char **argv) {
    printf("%s (%d args)\n", greeting(), argc - 1);
    return 0;
}
