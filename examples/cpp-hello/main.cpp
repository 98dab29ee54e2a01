#include <iostream>
#include <string>
#include <vector>

// Prints a greeting through iostreams, and the words it was given in reverse order.
int main(int argc, char **argv) {
    std::vector<std::string> words(argv + 1, argv + argc);
    std::cout << "hello from C++" << std::endl;
    for (auto it = words.rbegin(); it != words.rend(); ++it) {
        std::cout << *it << std::endl;
    }
    return 0;
}
