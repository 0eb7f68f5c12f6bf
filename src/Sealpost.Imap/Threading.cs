using System.Globalization;
using System.Text;

namespace Sealpost.Imap;

/// <summary>What SORT and THREAD need to know about one message (from the sealed metadata and the row).</summary>
public sealed record ThreadInput(
    uint Number,
    string? MessageId,
    IReadOnlyList<string> References,
    IReadOnlyList<string> InReplyTo,
    string BaseSubject,
    bool SubjectIsReply,
    DateTimeOffset SentDate);

/// <summary>One node of a thread tree; <see cref="Number"/> is 0 for a placeholder (a message referenced but not present).</summary>
public sealed class ThreadNode
{
    public uint Number { get; set; }
    public ThreadInput? Message { get; set; }
    public ThreadNode? Parent { get; set; }
    public List<ThreadNode> Children { get; } = [];

    /// <summary>Date a node sorts by: its message's, or for a placeholder its first child's (RFC 5256 §4 step 4).</summary>
    public DateTimeOffset SortDate => Message?.SentDate ?? Children.Select(c => c.SortDate).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();

    public uint SortNumber => Message?.Number ?? Children.Select(c => c.SortNumber).DefaultIfEmpty(uint.MaxValue).Min();
}

/// <summary>
/// RFC 5256 THREAD algorithms, pure: ORDEREDSUBJECT and REFERENCES (the latter after Jamie
/// Zawinski's algorithm as the RFC specifies it, §4 steps 1-6). Output is the RFC's parenthesised form.
/// </summary>
public static class Threading
{
    /// <summary>RFC 5256 §4 ORDEREDSUBJECT: messages grouped by base subject, groups by their first message's date.</summary>
    public static List<ThreadNode> OrderedSubject(IEnumerable<ThreadInput> messages)
    {
        var roots = new List<ThreadNode>();
        foreach (var group in messages.GroupBy(m => m.BaseSubject, StringComparer.Ordinal))
        {
            var ordered = group.OrderBy(m => m.SentDate).ThenBy(m => m.Number).ToList();
            var root = new ThreadNode { Number = ordered[0].Number, Message = ordered[0] };
            foreach (var m in ordered.Skip(1))
            {
                root.Children.Add(new ThreadNode { Number = m.Number, Message = m, Parent = root });
            }

            roots.Add(root);
        }

        return roots.OrderBy(r => r.SortDate).ThenBy(r => r.SortNumber).ToList();
    }

    /// <summary>RFC 5256 §4 REFERENCES.</summary>
    public static List<ThreadNode> References(IEnumerable<ThreadInput> messages)
    {
        var table = new Dictionary<string, ThreadNode>(StringComparer.Ordinal);
        var unique = 0;
        foreach (var message in messages.OrderBy(m => m.Number))
        {
            // Step 1A: the message's own container (a duplicate or missing Message-ID gets a unique one).
            var id = message.MessageId;
            if (id is null || (table.TryGetValue(id, out var existing) && existing.Message is not null))
            {
                id = "\u0001unique-" + unique++;
            }

            if (!table.TryGetValue(id, out var container))
            {
                table[id] = container = new ThreadNode();
            }

            container.Message = message;
            container.Number = message.Number;

            // Step 1B: link the reference chain parent-to-child, never making a loop or re-parenting a linked child.
            var references = message.References.Count > 0 ? message.References : message.InReplyTo.Take(1).ToList();
            ThreadNode? previous = null;
            foreach (var reference in references)
            {
                if (!table.TryGetValue(reference, out var node))
                {
                    table[reference] = node = new ThreadNode();
                }

                if (previous is not null && node.Parent is null && node != previous && !IsAncestor(node, previous))
                {
                    Link(previous, node);
                }

                previous = node;
            }

            // Step 1C: the last reference is the message's parent (replacing any guess made before).
            if (container.Parent is not null)
            {
                container.Parent.Children.Remove(container);
                container.Parent = null;
            }

            if (previous is not null && previous != container && !IsAncestor(container, previous))
            {
                Link(previous, container);
            }
        }

        // Step 2: the root set. Step 3: prune placeholders.
        var roots = Prune(table.Values.Where(n => n.Parent is null).ToList(), isRoot: true);

        // Step 4: sort the root set by date.
        roots = roots.OrderBy(r => r.SortDate).ThenBy(r => r.SortNumber).ToList();

        // Step 5: merge root threads with the same base subject.
        var bySubject = new Dictionary<string, ThreadNode>(StringComparer.Ordinal);
        var merged = new List<ThreadNode>();
        foreach (var root in roots)
        {
            var subjectSource = root.Message ?? root.Children.OrderBy(c => c.SortDate).ThenBy(c => c.SortNumber).First().Message!;
            var subject = subjectSource.BaseSubject;
            if (subject.Length == 0 || !bySubject.TryGetValue(subject, out var other))
            {
                if (subject.Length > 0)
                {
                    bySubject[subject] = root;
                }

                merged.Add(root);
                continue;
            }

            if (other.Message is null && root.Message is null)
            {
                // Both placeholders: the children of one join the other.
                foreach (var child in root.Children.ToList())
                {
                    Link(other, child);
                }
            }
            else if (other.Message is null)
            {
                Link(other, root);
            }
            else if (root.Message is null)
            {
                // The earlier thread becomes a child of this placeholder, which takes its place.
                Link(root, other);
                merged[merged.IndexOf(other)] = root;
                bySubject[subject] = root;
            }
            else if (root.Message.SubjectIsReply && !other.Message.SubjectIsReply)
            {
                Link(other, root);
            }
            else if (!root.Message.SubjectIsReply && other.Message.SubjectIsReply)
            {
                Link(root, other);
                merged[merged.IndexOf(other)] = root;
                bySubject[subject] = root;
            }
            else
            {
                // Neither (or both) replies: siblings under a new placeholder.
                var placeholder = new ThreadNode();
                merged[merged.IndexOf(other)] = placeholder;
                Link(placeholder, other);
                Link(placeholder, root);
                bySubject[subject] = placeholder;
            }
        }

        // Step 6: children in date order, all the way down.
        foreach (var root in merged)
        {
            SortChildren(root);
        }

        return merged.OrderBy(r => r.SortDate).ThenBy(r => r.SortNumber).ToList();
    }

    private static bool IsAncestor(ThreadNode candidate, ThreadNode node)
    {
        for (var n = node; n is not null; n = n.Parent)
        {
            if (n == candidate)
            {
                return true;
            }
        }

        return false;
    }

    private static void Link(ThreadNode parent, ThreadNode child)
    {
        child.Parent?.Children.Remove(child);
        child.Parent = parent;
        parent.Children.Add(child);
    }

    /// <summary>RFC 5256 §4 step 3: placeholders without children go; placeholders with children give them to their parent, except a root placeholder with several children.</summary>
    private static List<ThreadNode> Prune(List<ThreadNode> nodes, bool isRoot)
    {
        var result = new List<ThreadNode>();
        foreach (var node in nodes)
        {
            var children = Prune(node.Children.ToList(), isRoot: false);
            node.Children.Clear();
            foreach (var c in children)
            {
                c.Parent = node;
                node.Children.Add(c);
            }

            if (node.Message is null && node.Children.Count == 0)
            {
                continue;
            }

            if (node.Message is null && (!isRoot || node.Children.Count == 1))
            {
                foreach (var c in node.Children)
                {
                    c.Parent = null;
                }

                result.AddRange(node.Children);
                continue;
            }

            result.Add(node);
        }

        return result;
    }

    private static void SortChildren(ThreadNode node)
    {
        var sorted = node.Children.OrderBy(c => c.SortDate).ThenBy(c => c.SortNumber).ToList();
        node.Children.Clear();
        node.Children.AddRange(sorted);
        foreach (var child in sorted)
        {
            SortChildren(child);
        }
    }

    /// <summary>
    /// The THREAD response body (RFC 5256 §4): a node with one child continues the chain inline
    /// ("(1 2 3)"); with several, each child becomes a parenthesised subthread ("(1 (2)(3 4))").
    /// A placeholder root writes only its children.
    /// </summary>
    public static string Format(IEnumerable<ThreadNode> roots)
    {
        var sb = new StringBuilder();
        foreach (var root in roots)
        {
            sb.Append('(');
            WriteChain(sb, root);
            sb.Append(')');
        }

        return sb.ToString();
    }

    private static void WriteChain(StringBuilder sb, ThreadNode node)
    {
        var first = true;
        for (var n = node; ;)
        {
            if (n.Message is not null)
            {
                if (!first)
                {
                    sb.Append(' ');
                }

                sb.Append(n.Number.ToString(CultureInfo.InvariantCulture));
                first = false;
            }

            if (n.Children.Count == 1)
            {
                n = n.Children[0];
                continue;
            }

            if (n.Children.Count > 1)
            {
                if (!first)
                {
                    sb.Append(' ');
                }

                foreach (var child in n.Children)
                {
                    sb.Append('(');
                    WriteChain(sb, child);
                    sb.Append(')');
                }
            }

            return;
        }
    }
}
