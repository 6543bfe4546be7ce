#include "hadmc/compress/dependency_groups.h"

#include <map>
#include <numeric>

#include "hadmc/ir/ops.h"

namespace hadmc::compress {
namespace {

// A run of channels of one channel space inside a value's channel (or feature) dimension.
struct Segment {
  int space = 0;
  int64_t count = 0;
  int64_t stride = 1;  // > 1 once flattened
};
using Layout = std::vector<Segment>;

class SpaceTable {
 public:
  int New(int64_t channels, const std::string& frozen = "") {
    parent_.push_back(static_cast<int>(parent_.size()));
    channels_.push_back(channels);
    frozen_.push_back(frozen);
    slices_.emplace_back();
    producers_.emplace_back();
    return parent_.back();
  }
  int Find(int s) { return parent_[s] == s ? s : parent_[s] = Find(parent_[s]); }
  void Union(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return;
    if (b < a) std::swap(a, b);  // the older space (earlier producer) stays the root
    parent_[b] = a;
    if (frozen_[a].empty()) frozen_[a] = frozen_[b];
  }
  void Freeze(int s, const std::string& why) {
    s = Find(s);
    if (frozen_[s].empty()) frozen_[s] = why;
  }
  void AddSlice(int s, ChannelSlice slice) { slices_[s].push_back(std::move(slice)); }
  void AddProducer(int s, const std::string& node) { producers_[s].push_back(node); }

  std::vector<DependencyGroup> Groups() {
    std::map<int, DependencyGroup> by_root;
    for (int s = 0; s < static_cast<int>(parent_.size()); ++s) {
      DependencyGroup& g = by_root[Find(s)];
      g.channels = channels_[Find(s)];
      g.frozen_because = frozen_[Find(s)];
      g.slices.insert(g.slices.end(), slices_[s].begin(), slices_[s].end());
      g.producers.insert(g.producers.end(), producers_[s].begin(), producers_[s].end());
    }
    std::vector<DependencyGroup> out;
    for (auto& [root, g] : by_root)
      if (!g.slices.empty()) out.push_back(std::move(g));
    return out;
  }

 private:
  std::vector<int> parent_;
  std::vector<int64_t> channels_;
  std::vector<std::string> frozen_;
  std::vector<std::vector<ChannelSlice>> slices_;
  std::vector<std::vector<std::string>> producers_;
};

int64_t Width(const Layout& l) {
  int64_t w = 0;
  for (const Segment& s : l) w += s.count * s.stride;
  return w;
}

class Analysis {
 public:
  explicit Analysis(const ir::Graph& g) : g_(g) {}

  Result<std::vector<DependencyGroup>> Run() {
    auto shapes = ir::InferShapes(g_);
    if (!shapes) return MakeError(shapes.error());
    shapes_ = std::move(*shapes);
    for (const ir::ValueInfo& in : g_.inputs) layout_[in.name] = Fresh(in.shape, "graph input");
    for (const ir::Node& n : g_.nodes) Visit(n);
    for (const std::string& out : g_.outputs) FreezeAll(layout_[out], "graph output");
    return spaces_.Groups();
  }

 private:
  // A new channel space for a value with `shape` ([N, C, ...]): C channels.
  Layout Fresh(const ir::Shape& shape, const std::string& frozen = "") {
    const int64_t c = shape.size() >= 2 ? shape[1] : 1;
    return {Segment{spaces_.New(c < 0 ? 0 : c, c < 0 ? "unknown channel count" : frozen), c, 1}};
  }
  void FreezeAll(const Layout& l, const std::string& why) {
    for (const Segment& s : l) spaces_.Freeze(s.space, why);
  }
  // Ties every segment of `l` to `param`'s dimension `dim`.
  void Attach(const Layout& l, const std::string& param, int dim, bool trainable = true) {
    int64_t offset = 0;
    for (const Segment& s : l) {
      spaces_.AddSlice(s.space, {param, dim, offset, s.stride, trainable});
      offset += s.count * s.stride;
    }
  }
  std::string Param(const ir::Node& n, const std::string& slot) {
    auto it = n.params.find(slot);
    return it == n.params.end() ? "" : it->second;
  }
  void AttachParams(const ir::Node& n, const Layout& l, std::initializer_list<const char*> slots) {
    const ir::OpDef* def = ir::FindOp(n.op);
    for (const char* slot : slots) {
      bool trainable = true;
      for (const ir::ParamSlot& ps : def->params)
        if (ps.name == slot) trainable = ps.trainable;
      if (auto p = Param(n, slot); !p.empty()) Attach(l, p, 0, trainable);
    }
  }

  void Visit(const ir::Node& n) {
    const Layout& in = layout_[n.inputs.at(0)];
    const ir::Shape& out_shape = shapes_.at(n.output());
    Layout& out = layout_[n.output()];
    if (n.op == "conv2d" || n.op == "linear") {
      VisitProducer(n, in, out_shape, out);
    } else if (n.op == "batch_norm") {
      out = in;
      AttachParams(n, in, {"weight", "bias", "running_mean", "running_var"});
    } else if (n.op == "add" || n.op == "mul") {
      out = in;
      for (size_t i = 1; i < n.inputs.size(); ++i) Join(out, layout_[n.inputs[i]], n.name);
    } else if (n.op == "concat") {
      if (n.attrs.GetInt("axis", 1).value_or(0) != 1) return Opaque(n, out_shape, out, "concat axis");
      for (const std::string& v : n.inputs) {
        const Layout& l = layout_[v];
        out.insert(out.end(), l.begin(), l.end());
      }
    } else if (n.op == "flatten") {
      const ir::Shape& s = shapes_.at(n.inputs[0]);
      const int64_t hw = s.size() >= 2 ? std::accumulate(s.begin() + 2, s.end(), int64_t{1},
                                                         std::multiplies<int64_t>())
                                       : 1;
      if (n.attrs.GetInt("start_dim", 1).value_or(0) != 1 || hw <= 0)
        return Opaque(n, out_shape, out, "flatten of unknown spatial size");
      out = in;
      for (Segment& seg : out) seg.stride *= hw;
    } else {
      const ir::OpDef* def = ir::FindOp(n.op);
      if (def && def->channel_relation &&
          def->channel_relation(n, {}) == ir::ChannelRelation::kPassThrough) {
        out = in;
      } else {
        Opaque(n, out_shape, out, "op " + n.op);
      }
    }
  }

  void VisitProducer(const ir::Node& n, const Layout& in, const ir::Shape& out_shape,
                     Layout& out) {
    const int64_t groups = n.op == "conv2d" ? n.attrs.GetInt("groups", 1).value_or(1) : 1;
    const int64_t in_ch = Width(in);
    const int64_t out_ch = out_shape.size() >= 2 ? out_shape[1] : 0;
    const std::string weight = Param(n, "weight");
    if (groups == 1) {
      Attach(in, weight, 1);
      out = Fresh(out_shape);
      spaces_.AddProducer(out[0].space, n.name);
      AttachParams(n, out, {"weight", "bias"});
    } else if (groups == in_ch && out_ch == in_ch) {
      // Depthwise: channel c in -> channel c out, one filter each. The output is the input's
      // channel space, so the producer of the input loses the same channels.
      out = in;
      AttachParams(n, out, {"weight", "bias"});
      for (const Segment& s : out) spaces_.AddProducer(s.space, n.name);
    } else {
      FreezeAll(in, "grouped conv " + n.name);
      out = Fresh(out_shape, "grouped conv " + n.name);
      Attach(in, weight, 1);
      AttachParams(n, out, {"weight", "bias"});
    }
  }

  void Join(Layout& a, const Layout& b, const std::string& node) {
    bool same = a.size() == b.size();
    for (size_t i = 0; same && i < a.size(); ++i)
      same = a[i].count == b[i].count && a[i].stride == b[i].stride;
    if (!same) {  // broadcasting or mismatched concat layouts: keep both sides whole
      FreezeAll(a, "broadcast in " + node);
      FreezeAll(b, "broadcast in " + node);
      return;
    }
    for (size_t i = 0; i < a.size(); ++i) spaces_.Union(a[i].space, b[i].space);
  }

  void Opaque(const ir::Node& n, const ir::Shape& out_shape, Layout& out, const std::string& why) {
    for (const std::string& v : n.inputs) FreezeAll(layout_[v], why);
    out = Fresh(out_shape, why);
  }

  const ir::Graph& g_;
  std::map<std::string, ir::Shape> shapes_;
  std::map<std::string, Layout> layout_;
  SpaceTable spaces_;
};

}  // namespace

Result<std::vector<DependencyGroup>> ComputeDependencyGroups(const ir::Graph& g) {
  return Analysis(g).Run();
}

}  // namespace hadmc::compress
