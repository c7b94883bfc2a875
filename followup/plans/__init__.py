"""Follow-up plans (随访方案) beyond the two mandatory calls: the field library of their forms
(library.py), defining plans (define.py), and the tasks they create (tasks.py)."""
