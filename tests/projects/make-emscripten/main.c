#include <stdio.h>
int main(void) {
    printf("hello from emscripten via make\n");
    return 0;
}
