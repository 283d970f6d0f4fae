// plot — draws the activations of xact and their derivatives on [-6, 6] into one SVG file.
//
//   plot [out.svg]          (default docs/activations.svg)
//
// f and f' come from xact itself (xact::activation's forward and backward, in double), one
// panel per activation of xact::activation_names(). The SVG is written by hand with the
// standard library only, with fixed precision, so the same build always writes the same bytes.
#include <xact/xact.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

// One panel: an activation and its x range.
struct panel {
    xact::activation act;
    double x_lo, x_hi;
};

// The panels: every name xact accepts, on [-6, 6], except identity and its alias linear (a
// straight line), swish
// (drawn as silu, its beta = 1 case) and celu (with alpha = 1 it is elu). leaky_relu gets a
// slope that can be seen, relu6 a range that shows its cap at 6.
std::vector<panel> panels() {
    std::vector<panel> list;
    for (auto name : xact::activation_names()) {
        if (name == "identity" || name == "linear" || name == "swish" || name == "celu") continue;
        const double range = name == "relu6" ? 8 : 6;
        list.push_back(
            {xact::activation::parse(name == "leaky_relu" ? "leaky_relu(alpha=0.1)" : name), -range,
             range});
    }
    return list;
}

// Layout, in SVG pixels.
constexpr int columns = 4;
constexpr double panel_w = 300, panel_h = 230; // one cell of the grid
constexpr double left = 46, right = 14;        // margins of the plot area inside a cell:
constexpr double top = 30, bottom = 26;        // tick labels left and below, the title above
constexpr double header = 64, margin = 10;     // title and legend above the grid
constexpr double dx = 0.05;                    // the x step between samples: the kinks are samples
const char* const f_color = "#1f5fbf";         // f: solid blue
const char* const df_color = "#e0701a";        // f': dashed orange

std::string fixed(double v, int decimals = 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    std::string s = buf;
    if (s == "-0" || s == "-0.0" || s == "-0.00") s.erase(0, 1);
    return s;
}

// A tick label: as few decimals as the step needs, with a real minus sign.
std::string label(double v, double step) {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::string s = fixed(v, decimals);
    if (s[0] == '-') s.replace(0, 1, "\u2212");
    return s;
}

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '&')
            out += "&amp;";
        else if (c == '<')
            out += "&lt;";
        else if (c == '>')
            out += "&gt;";
        else
            out += c;
    }
    return out;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `ticks` intervals.
double nice_step(double span, int ticks) {
    const double raw = span / ticks, p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0})
        if (m * p >= raw) return m * p;
    return 10 * p;
}

// Distance of point (x, y) from the line through (ax, ay) and (bx, by).
double distance(double x, double y, double ax, double ay, double bx, double by) {
    const double ux = bx - ax, uy = by - ay, len = std::hypot(ux, uy);
    return len == 0 ? std::hypot(x - ax, y - ay) : std::fabs(ux * (y - ay) - uy * (x - ax)) / len;
}

// The jumps of a curve sampled in pixels (those of relu', hard_sigmoid', ...): jump[i] when the
// step from point i - 1 to point i is larger than min_jump and 8 times the steps on either
// side of it.
std::vector<bool> jumps(const std::vector<double>& py, double min_jump) {
    const std::size_t n = py.size();
    auto step = [&](std::size_t i) {
        return i == 0 || i >= n ? 0.0 : std::fabs(py[i] - py[i - 1]);
    };
    std::vector<bool> jump(n, false);
    for (std::size_t i = 1; i < n; ++i)
        jump[i] = step(i) > min_jump && step(i) > 8 * std::max(step(i - 1), step(i + 1));
    return jump;
}

// SVG path through the points (x[i], y[i]) in pixels, broken at the jumps so that no vertical
// line joins their two sides. Points that lie within 0.05 px of the straight line joining
// their neighbours are left out.
std::string path(const std::vector<double>& px, const std::vector<double>& py,
                 const std::vector<bool>& jump) {
    const std::size_t n = px.size();
    std::string d = "M" + fixed(px[0]) + "," + fixed(py[0]);
    std::size_t last = 0; // the last point written
    for (std::size_t i = 1; i < n; ++i) {
        if (i + 1 < n && !jump[i] && !jump[i + 1]) {
            bool straight = true; // can the line last -> i + 1 stand for every point between?
            for (std::size_t j = last + 1; j <= i && straight; ++j)
                straight = distance(px[j], py[j], px[last], py[last], px[i + 1], py[i + 1]) < 0.05;
            if (straight) continue;
        }
        d += (jump[i] ? " M" : " L") + fixed(px[i]) + "," + fixed(py[i]);
        last = i;
    }
    return d;
}

void draw_panel(std::ostream& svg, const panel& p, int index) {
    // f and f' on the sample points, from xact.
    const double x_lo = p.x_lo, x_hi = p.x_hi;
    const auto n = static_cast<std::size_t>(std::lround((x_hi - x_lo) / dx)) + 1;
    std::vector<double> x(n), f(n), df(n), ones(n, 1.0);
    for (std::size_t i = 0; i < n; ++i)
        x[i] = x_lo + (x_hi - x_lo) * static_cast<double>(i) / static_cast<double>(n - 1);
    p.act.forward(x.data(), f.data(), n);
    p.act.backward(x.data(), ones.data(), df.data(), n); // f'(x) = 1 * f'(x)

    // y range: both curves and 0, with some air above and below.
    double y_min = 0, y_max = 0;
    for (std::size_t i = 0; i < n; ++i) {
        y_min = std::min({y_min, f[i], df[i]});
        y_max = std::max({y_max, f[i], df[i]});
    }
    const double air = 0.08 * (y_max - y_min);
    const double y_lo = y_min - air, y_hi = y_max + air;

    const double w = panel_w - left - right, h = panel_h - top - bottom;
    const double ox = margin + (index % columns) * panel_w,
                 oy = header + (index / columns) * panel_h;
    auto sx = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * w; };
    auto sy = [&](double v) { return top + (y_hi - v) / (y_hi - y_lo) * h; };

    svg << "<g transform=\"translate(" << fixed(ox) << "," << fixed(oy) << ")\">\n";
    svg << "<clipPath id=\"clip" << index << "\"><rect x=\"" << fixed(left) << "\" y=\""
        << fixed(top) << "\" width=\"" << fixed(w) << "\" height=\"" << fixed(h)
        << "\"/></clipPath>\n";
    svg << "<text x=\"" << fixed(left + w / 2) << "\" y=\"" << fixed(top - 10)
        << "\" text-anchor=\"middle\" font-family=\"DejaVu Sans Mono,Menlo,Consolas,monospace\" "
           "font-size=\"15\" font-weight=\"bold\">"
        << escape(p.act.name()) << "</text>\n";

    // Grid lines and tick labels; the axes x = 0 and y = 0 darker.
    svg << "<g stroke=\"#e4e4e4\" stroke-width=\"1\">";
    const double x_step = x_hi - x_lo > 12 ? 4 : 2;
    for (double t = x_lo; t <= x_hi; t += x_step)
        svg << "<line x1=\"" << fixed(sx(t)) << "\" y1=\"" << fixed(top) << "\" x2=\""
            << fixed(sx(t)) << "\" y2=\"" << fixed(top + h) << "\"/>";
    const double step = nice_step(y_hi - y_lo, 5);
    std::vector<double> y_ticks;
    for (double t = std::ceil(y_lo / step) * step; t <= y_hi + 1e-9; t += step)
        y_ticks.push_back(std::fabs(t) < 1e-9 ? 0.0 : t);
    for (double t : y_ticks)
        svg << "<line x1=\"" << fixed(left) << "\" y1=\"" << fixed(sy(t)) << "\" x2=\""
            << fixed(left + w) << "\" y2=\"" << fixed(sy(t)) << "\"/>";
    svg << "</g>\n<g stroke=\"#888\" stroke-width=\"1\">";
    svg << "<line x1=\"" << fixed(sx(0)) << "\" y1=\"" << fixed(top) << "\" x2=\"" << fixed(sx(0))
        << "\" y2=\"" << fixed(top + h) << "\"/>";
    svg << "<line x1=\"" << fixed(left) << "\" y1=\"" << fixed(sy(0)) << "\" x2=\""
        << fixed(left + w) << "\" y2=\"" << fixed(sy(0)) << "\"/></g>\n";
    svg << "<rect x=\"" << fixed(left) << "\" y=\"" << fixed(top) << "\" width=\"" << fixed(w)
        << "\" height=\"" << fixed(h) << "\" fill=\"none\" stroke=\"#444\"/>\n";
    svg << "<g font-size=\"12\" fill=\"#333\">";
    for (double t = x_lo; t <= x_hi; t += x_step)
        svg << "<text x=\"" << fixed(sx(t)) << "\" y=\"" << fixed(top + h + 15)
            << "\" text-anchor=\"middle\">" << label(t, 1) << "</text>";
    for (double t : y_ticks)
        svg << "<text x=\"" << fixed(left - 5) << "\" y=\"" << fixed(sy(t) + 4)
            << "\" text-anchor=\"end\">" << label(t, step) << "</text>";
    svg << "</g>\n";

    // The curves, clipped to the plot area: f' dashed over f, so that both show where they meet.
    std::vector<double> px(n), pf(n), pd(n);
    for (std::size_t i = 0; i < n; ++i) {
        px[i] = sx(x[i]);
        pf[i] = sy(f[i]);
        pd[i] = sy(df[i]);
    }
    const std::vector<bool> f_jump = jumps(pf, 0.02 * h), df_jump = jumps(pd, 0.02 * h);
    svg << "<g fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\" clip-path=\"url(#clip"
        << index << ")\">\n";
    svg << "<path stroke=\"" << f_color << "\" d=\"" << path(px, pf, f_jump) << "\"/>\n";
    svg << "<path stroke=\"" << df_color << "\" stroke-dasharray=\"6,3\" d=\""
        << path(px, pd, df_jump) << "\"/>\n</g>\n";

    // At each jump of f', which lies between two samples a < b: a filled dot at the value f'
    // takes at the kink (xact's convention, e.g. relu'(0) = 0) and an open one at the limit
    // from the other side. Probing just after a tells whether the kink is a or b.
    for (std::size_t i = 1; i < n; ++i) {
        if (!df_jump[i]) continue;
        const double probe[2] = {x[i - 1] + 1e-9, x[i] - 1e-9}, one[2] = {1, 1};
        double d[2];
        p.act.backward(probe, one, d, 2);
        const bool at_a = std::fabs(d[0] - df[i]) < std::fabs(d[0] - df[i - 1]);
        const double kink = at_a ? x[i - 1] : x[i];
        const double value = at_a ? df[i - 1] : df[i], other = at_a ? d[0] : d[1];
        svg << "<circle cx=\"" << fixed(sx(kink)) << "\" cy=\"" << fixed(sy(other))
            << "\" r=\"3.5\" fill=\"white\" stroke=\"" << df_color << "\" stroke-width=\"1.5\"/>";
        svg << "<circle cx=\"" << fixed(sx(kink)) << "\" cy=\"" << fixed(sy(value))
            << "\" r=\"3.5\" fill=\"" << df_color << "\"/>\n";
    }
    svg << "</g>\n";
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 2) {
        std::cerr << "usage: plot [out.svg]   (default docs/activations.svg)\n";
        return 2;
    }
    const std::string out_path = argc == 2 ? argv[1] : "docs/activations.svg";
    const std::vector<panel> list = panels();
    const int rows = (static_cast<int>(list.size()) + columns - 1) / columns;
    const double width = 2 * margin + columns * panel_w;
    const double height = header + rows * panel_h + margin;

    std::ofstream svg(out_path, std::ios::binary);
    if (!svg) {
        std::cerr << "plot: cannot write " << out_path << "\n";
        return 1;
    }
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << fixed(width, 0) << "\" height=\""
        << fixed(height, 0) << "\" viewBox=\"0 0 " << fixed(width, 0) << " " << fixed(height, 0)
        << "\" font-family=\"DejaVu Sans,Helvetica,Arial,sans-serif\">\n";
    svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    const std::string title = "xact activation functions and their derivatives";
    svg << "<text x=\"" << fixed(margin + left)
        << "\" y=\"30\" font-size=\"20\" font-weight=\"bold\">" << title << "</text>\n";
    const std::string subtitle = "x in [\u22126, 6] (relu6: [\u22128, 8]); f from "
                                 "xact::activation::forward, f\u2032 from backward, in double";
    svg << "<text x=\"" << fixed(margin + left) << "\" y=\"50\" font-size=\"12\" fill=\"#555\">"
        << subtitle << "</text>\n";

    // The legend, top right: the two curves, then the dots at the jumps of f'.
    const double lx = width - margin - right - 290;
    svg << "<g font-size=\"14\">"
        << "<line x1=\"" << fixed(lx) << "\" y1=\"25\" x2=\"" << fixed(lx + 34)
        << "\" y2=\"25\" stroke=\"" << f_color << "\" stroke-width=\"2.5\"/>"
        << "<text x=\"" << fixed(lx + 42) << "\" y=\"30\">f(x)</text>"
        << "<line x1=\"" << fixed(lx + 140) << "\" y1=\"25\" x2=\"" << fixed(lx + 174)
        << "\" y2=\"25\" stroke=\"" << df_color << "\" stroke-width=\"2.5\" "
        << "stroke-dasharray=\"6,3\"/>"
        << "<text x=\"" << fixed(lx + 182) << "\" y=\"30\">f\u2032(x)</text>"
        << "<circle cx=\"" << fixed(lx + 17) << "\" cy=\"47\" r=\"3.5\" fill=\"" << df_color
        << "\"/><text x=\"" << fixed(lx + 42) << "\" y=\"52\">f\u2032 at a jump</text>"
        << "<circle cx=\"" << fixed(lx + 157) << "\" cy=\"47\" r=\"3.5\" fill=\"white\" stroke=\""
        << df_color << "\" stroke-width=\"1.5\"/><text x=\"" << fixed(lx + 182)
        << "\" y=\"52\">the other side</text></g>\n";

    for (std::size_t i = 0; i < list.size(); ++i) draw_panel(svg, list[i], static_cast<int>(i));
    svg << "</svg>\n";
    svg.close();
    if (!svg) {
        std::cerr << "plot: error writing " << out_path << "\n";
        return 1;
    }
    std::cout << "wrote " << list.size() << " panels to " << out_path << "\n";
    return 0;
}
