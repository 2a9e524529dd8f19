//! THREAD response trees (RFC 5256 §5):
//! `thread-list = "(" (thread-members / thread-nested) ")"`,
//! `thread-members = nz-number *(SP nz-number) [SP thread-nested]`,
//! `thread-nested = 2*thread-list`.

use super::ThreadNode;

/// Writes one thread as a `thread-list`.
pub(super) fn write_thread(out: &mut Vec<u8>, node: &ThreadNode) {
    out.push(b'(');
    write_members(out, node);
    out.push(b')');
}

/// A chain of single replies as `a b c`, then any branching as nested lists. Iterative along the
/// chain; recursion only at branches (a server-built tree, bounded by the mailbox).
fn write_members(out: &mut Vec<u8>, mut node: &ThreadNode) {
    let mut first = true;
    loop {
        if let Some(n) = node.message {
            if !first {
                out.push(b' ');
            }
            out.extend_from_slice(n.to_string().as_bytes());
            first = false;
        }
        match node.children.as_slice() {
            [] => return,
            [only] if node.message.is_some() => node = only,
            children => {
                if !first {
                    out.push(b' ');
                }
                children.iter().for_each(|child| write_thread(out, child));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u32) -> ThreadNode {
        ThreadNode {
            message: Some(n),
            children: vec![],
        }
    }

    fn node(n: u32, children: Vec<ThreadNode>) -> ThreadNode {
        ThreadNode {
            message: Some(n),
            children,
        }
    }

    #[test]
    fn rfc5256_thread_example_encodes() {
        // (2)(3 6 (4 23)(44 7 96))
        let t1 = leaf(2);
        let t2 = node(
            3,
            vec![node(
                6,
                vec![
                    node(4, vec![leaf(23)]),
                    node(44, vec![node(7, vec![leaf(96)])]),
                ],
            )],
        );
        let mut out = Vec::new();
        write_thread(&mut out, &t1);
        write_thread(&mut out, &t2);
        assert_eq!(out, b"(2)(3 6 (4 23)(44 7 96))");
        let dummy = ThreadNode {
            message: None,
            children: vec![leaf(3), leaf(5)],
        };
        let mut out = Vec::new();
        write_thread(&mut out, &dummy);
        assert_eq!(out, b"((3)(5))");
    }
}
