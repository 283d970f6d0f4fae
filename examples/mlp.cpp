// mlp — a two-layer network trained on the "two moons" with xact.
//
//   mlp [--activation NAME] [--epochs N] [--hidden N] [--points N] [--noise X] [--lr X]
//       [--seed N] [--every N] [--max-loss X] [--map] [--help]
//
// The hidden activation is chosen on the command line by name, e.g.
// `mlp --activation "leaky_relu(alpha=0.1)"` (any text xact::activation::parse accepts),
// and runs through xact::activation's forward and backward. The output layer gives two logits
// per point, trained with xact's softmax cross-entropy. Everything else — the data, the two
// matrix products, Adam — is plain C++ in loops. With a fixed seed the run is deterministic.
//
// Exit status: 0; 1 when --max-loss X is given and the final loss is not below X; 2 for a bad
// command line.
#include <xact/xact.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#if defined(_WIN32)
#include <io.h>
static bool stderr_is_terminal() {
    return _isatty(_fileno(stderr)) != 0;
}
#else
#include <unistd.h>
static bool stderr_is_terminal() {
    return isatty(fileno(stderr)) != 0;
}
#endif

namespace {

struct options {
    std::string activation = "relu";
    int epochs = 500;
    int hidden = 32;
    int points = 256; // in all, half per class
    float noise = 0.1f;
    float lr = 0.03f;
    unsigned seed = 1;
    int every = 50; // print the loss every this many epochs
    double max_loss = -1;
    bool map = false;
};

// ---------------------------------------------------------------- data

// Uniform on [0, 1) and a standard normal, written out so that the numbers do not depend on
// the standard library's distributions (std::mt19937 itself is specified exactly).
float uniform(std::mt19937& rng) {
    return static_cast<float>(rng() >> 8) * 0x1p-24f;
}

float normal(std::mt19937& rng) { // Box-Muller
    const float u = 1.0f - uniform(rng), v = uniform(rng);
    return std::sqrt(-2.0f * std::log(u)) * std::cos(6.2831853f * v);
}

// Two interleaved half circles: class 0 the upper one, class 1 the lower one shifted right.
void two_moons(int points, float noise, std::mt19937& rng, std::vector<float>& x,
               std::vector<std::int64_t>& label) {
    x.resize(2 * points);
    label.resize(points);
    for (int i = 0; i < points; ++i) {
        const int c = i % 2;
        const float t = 3.1415927f * uniform(rng);
        const float px = c == 0 ? std::cos(t) : 1.0f - std::cos(t);
        const float py = c == 0 ? std::sin(t) : 0.5f - std::sin(t);
        x[2 * i] = px + noise * normal(rng);
        x[2 * i + 1] = py + noise * normal(rng);
        label[i] = c;
    }
}

// ---------------------------------------------------------------- the network

// One dense layer y = x w + b: x is rows x in, w is in x out (row-major), b has out entries.
struct dense {
    int in, out;
    std::vector<float> w, b, dw, db;
    std::vector<float> mw, vw, mb, vb; // Adam's moments

    dense(int in_, int out_, std::mt19937& rng) : in(in_), out(out_) {
        const float scale = std::sqrt(6.0f / static_cast<float>(in + out)); // Glorot uniform
        for (int i = 0; i < in * out; ++i) w.push_back(scale * (2.0f * uniform(rng) - 1.0f));
        b.assign(out, 0.0f);
        dw.assign(w.size(), 0.0f);
        db.assign(b.size(), 0.0f);
        mw = vw = dw;
        mb = vb = db;
    }

    void forward(const std::vector<float>& x, int rows, std::vector<float>& y) const {
        y.assign(static_cast<std::size_t>(rows) * out, 0.0f);
        for (int r = 0; r < rows; ++r)
            for (int j = 0; j < out; ++j) {
                float s = b[j];
                for (int k = 0; k < in; ++k) s += x[r * in + k] * w[k * out + j];
                y[r * out + j] = s;
            }
    }

    // From dy (rows x out): the gradients dw, db and, if dx is given, dx = dy w^T.
    void backward(const std::vector<float>& x, const std::vector<float>& dy, int rows,
                  std::vector<float>* dx) {
        std::fill(dw.begin(), dw.end(), 0.0f);
        std::fill(db.begin(), db.end(), 0.0f);
        for (int r = 0; r < rows; ++r)
            for (int j = 0; j < out; ++j) {
                db[j] += dy[r * out + j];
                for (int k = 0; k < in; ++k) dw[k * out + j] += x[r * in + k] * dy[r * out + j];
            }
        if (dx == nullptr) return;
        dx->assign(static_cast<std::size_t>(rows) * in, 0.0f);
        for (int r = 0; r < rows; ++r)
            for (int k = 0; k < in; ++k) {
                float s = 0.0f;
                for (int j = 0; j < out; ++j) s += dy[r * out + j] * w[k * out + j];
                (*dx)[r * in + k] = s;
            }
    }

    // One Adam step (beta1 = 0.9, beta2 = 0.999) at step t >= 1.
    void step(float lr, int t) {
        const float c1 = 1.0f - std::pow(0.9f, static_cast<float>(t));
        const float c2 = 1.0f - std::pow(0.999f, static_cast<float>(t));
        auto update = [&](std::vector<float>& p, const std::vector<float>& g, std::vector<float>& m,
                          std::vector<float>& v) {
            for (std::size_t i = 0; i < p.size(); ++i) {
                m[i] = 0.9f * m[i] + 0.1f * g[i];
                v[i] = 0.999f * v[i] + 0.001f * g[i] * g[i];
                p[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + 1e-8f);
            }
        };
        update(w, dw, mw, vw);
        update(b, db, mb, vb);
    }
};

// The class with the larger logit.
std::int64_t predict(const float* logits) {
    return logits[1] > logits[0] ? 1 : 0;
}

float accuracy(const std::vector<float>& logits, const std::vector<std::int64_t>& label) {
    int right = 0;
    for (std::size_t i = 0; i < label.size(); ++i) right += predict(&logits[2 * i]) == label[i];
    return 100.0f * static_cast<float>(right) / static_cast<float>(label.size());
}

// A character map of the plane: the class the network predicts ('.' or ' '), the points ('o'
// for class 0, 'x' for class 1; upper case where they are misclassified).
void print_map(const dense& l1, const dense& l2, const xact::activation& act,
               const std::vector<float>& x, const std::vector<std::int64_t>& label) {
    const int cols = 72, rows = 24;
    const float x0 = -1.5f, x1 = 2.5f, y0 = -1.0f, y1 = 1.5f;
    std::vector<float> grid, z, h, logits;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            grid.push_back(x0 + (x1 - x0) * (static_cast<float>(c) + 0.5f) / cols);
            grid.push_back(y1 - (y1 - y0) * (static_cast<float>(r) + 0.5f) / rows);
        }
    l1.forward(grid, rows * cols, z);
    h.resize(z.size());
    act.forward(z.data(), h.data(), z.size());
    l2.forward(h, rows * cols, logits);
    std::vector<std::string> text(rows, std::string(cols, ' '));
    for (int i = 0; i < rows * cols; ++i)
        if (predict(&logits[2 * i]) == 1) text[i / cols][i % cols] = '.';
    l1.forward(x, static_cast<int>(label.size()), z);
    h.resize(z.size());
    act.forward(z.data(), h.data(), z.size());
    l2.forward(h, static_cast<int>(label.size()), logits);
    for (std::size_t i = 0; i < label.size(); ++i) {
        const int c = static_cast<int>((x[2 * i] - x0) / (x1 - x0) * cols);
        const int r = static_cast<int>((y1 - x[2 * i + 1]) / (y1 - y0) * rows);
        if (c < 0 || c >= cols || r < 0 || r >= rows) continue;
        const bool right = predict(&logits[2 * i]) == label[i];
        text[r][c] = label[i] == 0 ? (right ? 'o' : 'O') : (right ? 'x' : 'X');
    }
    std::printf("+%s+\n", std::string(cols, '-').c_str());
    for (const auto& line : text) std::printf("|%s|\n", line.c_str());
    std::printf("+%s+\n", std::string(cols, '-').c_str());
}

// The progress line on a terminal: "[#####     ] epoch/epochs loss", redrawn in place.
void show_progress(int epoch, int epochs, float loss) {
    const int width = 30, done = epochs > 0 ? width * epoch / epochs : width;
    std::fprintf(stderr, "\r[%s%s] %d/%d  loss %.4f", std::string(done, '#').c_str(),
                 std::string(width - done, ' ').c_str(), epoch, epochs, static_cast<double>(loss));
}

void clear_progress() {
    std::fprintf(stderr, "\r%*s\r", 79, "");
}

// ---------------------------------------------------------------- command line

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: mlp [options]\n"
                 "Trains a 2-N-2 network on the two moons; the hidden activation is xact's.\n"
                 "  --activation NAME  hidden activation, e.g. tanh, \"leaky_relu(alpha=0.1)\",\n"
                 "                     \"gelu(approximate=tanh)\" (default relu)\n"
                 "  --epochs N         full-batch training steps (default 500)\n"
                 "  --hidden N         hidden units (default 32)\n"
                 "  --points N         data points, half per class (default 256)\n"
                 "  --noise X          standard deviation of the noise (default 0.1)\n"
                 "  --lr X             Adam's learning rate (default 0.03)\n"
                 "  --seed N           random seed of the data and the weights (default 1)\n"
                 "  --every N          print the loss every N epochs (default 50)\n"
                 "  --max-loss X       exit 1 unless the final loss is below X\n"
                 "  --map              print the decision regions as characters\n"
                 "Activations:");
    for (auto name : xact::activation_names())
        std::fprintf(out, " %.*s", static_cast<int>(name.size()), name.data());
    std::fprintf(out, "\n");
}

// Parses a number from the whole of text; false if it is not one or outside [lo, hi].
template <class T>
bool number(const char* text, double lo, double hi, T& value) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= lo && v <= hi)) return false;
    if (std::is_integral_v<T> && v != std::floor(v)) return false;
    value = static_cast<T>(v);
    return true;
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--map") {
            o.map = true;
            continue;
        }
        if (i + 1 == argc) return false; // every other option takes a value
        const char* v = argv[++i];
        bool ok = true;
        if (arg == "--activation")
            o.activation = v;
        else if (arg == "--epochs")
            ok = number(v, 0, 1e7, o.epochs);
        else if (arg == "--hidden")
            ok = number(v, 1, 1000, o.hidden);
        else if (arg == "--points")
            ok = number(v, 2, 100000, o.points);
        else if (arg == "--noise")
            ok = number(v, 0, 10, o.noise);
        else if (arg == "--lr")
            ok = number(v, 1e-9, 10, o.lr);
        else if (arg == "--seed")
            ok = number(v, 0, 4294967295.0, o.seed);
        else if (arg == "--every")
            ok = number(v, 1, 1e7, o.every);
        else if (arg == "--max-loss")
            ok = number(v, 0, 1e9, o.max_loss);
        else
            ok = false;
        if (!ok) return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
        usage(stdout);
        return 0;
    }
    if (!parse(argc, argv, o)) {
        usage(stderr);
        return 2;
    }
    xact::activation act;
    try {
        act = xact::activation::parse(o.activation);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mlp: %s\n\n", e.what());
        usage(stderr);
        return 2;
    }

    std::mt19937 rng(o.seed);
    std::vector<float> x;
    std::vector<std::int64_t> label;
    two_moons(o.points, o.noise, rng, x, label);
    const int n = o.points, h = o.hidden;
    dense l1(2, h, rng), l2(h, 2, rng);
    const xact::extents rows{static_cast<std::size_t>(n), 2}; // n rows of 2 logits

    std::printf("two moons: %d points, network 2-%d-2, activation %s, %d epochs of Adam (lr %g)\n",
                n, h, act.name().c_str(), o.epochs, static_cast<double>(o.lr));
    const bool progress = stderr_is_terminal();
    std::vector<float> z, a, logits, dlogits, da, dz;
    float loss = 0;
    for (int epoch = 0;; ++epoch) {
        // Forward: z = x W1 + b1, a = f(z), logits = a W2 + b2.
        l1.forward(x, n, z);
        a.resize(z.size());
        act.forward(z.data(), a.data(), z.size());
        l2.forward(a, n, logits);
        loss = xact::cross_entropy(logits.data(), label.data(), rows); // mean over the points

        if (epoch % o.every == 0 || epoch == o.epochs) {
            if (progress) clear_progress();
            std::printf("epoch %5d  loss %.4f  accuracy %5.1f%%\n", epoch,
                        static_cast<double>(loss), static_cast<double>(accuracy(logits, label)));
            std::fflush(stdout);
        }
        if (progress && (epoch % std::max(1, o.epochs / 100) == 0 || epoch == o.epochs))
            show_progress(epoch, o.epochs, loss);
        if (epoch == o.epochs) break;

        // Backward: dlogits = d loss / d logits, then through layer 2, f and layer 1.
        dlogits.resize(logits.size());
        xact::cross_entropy_backward(logits.data(), label.data(), dlogits.data(), rows);
        l2.backward(a, dlogits, n, &da);
        dz.resize(z.size());
        act.backward(z.data(), da.data(), dz.data(), z.size()); // dz = da * f'(z)
        l1.backward(x, dz, n, nullptr);
        l1.step(o.lr, epoch + 1);
        l2.step(o.lr, epoch + 1);
    }
    if (progress) clear_progress();

    std::printf("final loss %.4f, accuracy %.1f%% (%s)\n", static_cast<double>(loss),
                static_cast<double>(accuracy(logits, label)), act.name().c_str());
    if (o.map) print_map(l1, l2, act, x, label);
    if (o.max_loss >= 0 && !(loss < o.max_loss)) {
        std::fprintf(stderr, "mlp: final loss %.4f is not below --max-loss %g\n",
                     static_cast<double>(loss), o.max_loss);
        return 1;
    }
    return 0;
}
